//! `filigree session`: open a viewer's session on a two-step package, and assemble a
//! session's copy as one MP4 by stream copy.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use filigree::Key;
use filigree::twostep::Package;
use filigree::twostep::session::open_session;

use crate::Failure;

#[derive(Subcommand)]
pub enum SessionCommand {
    /// Open a session: a ledger entry and a signed playback token (printed as JSON).
    New {
        /// The marking key the package was prepared with.
        #[arg(long)]
        key: PathBuf,
        /// The key playback tokens are signed with (its own key file, not the marking key).
        #[arg(long)]
        token_key: PathBuf,
        /// Ledger to record the session in (created if missing).
        #[arg(long)]
        ledger: PathBuf,
        /// Who watches (shown by the player's overlay and by `detect --ledger`).
        #[arg(long)]
        label: Option<String>,
        /// Session ID as 8 hex digits (default: a new random one).
        #[arg(long, value_parser = session_id)]
        session: Option<u32>,
        /// How long the token is valid, e.g. 24h, 90m, 7days (default: no expiry).
        #[arg(long, value_parser = humantime_duration)]
        expires_in: Option<u64>,
        /// The package folder.
        package: PathBuf,
    },
    /// Write a session's copy of one rendition as an MP4, by stream copy of its segments
    /// (and of the package's audio).
    Mp4 {
        #[arg(long)]
        key: PathBuf,
        #[arg(long, value_parser = session_id)]
        session: u32,
        /// Rendition name, e.g. 720p (default: the largest).
        #[arg(long)]
        rendition: Option<String>,
        package: PathBuf,
        output: PathBuf,
    },
}

pub fn session_id(text: &str) -> Result<u32, String> {
    if text.len() == 8 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        u32::from_str_radix(text, 16).map_err(|e| e.to_string())
    } else {
        Err(format!("{text:?} is not a session ID (8 hex digits)"))
    }
}

fn humantime_duration(text: &str) -> Result<u64, String> {
    text.parse::<humantime::Duration>()
        .map(|d| d.as_secs().max(1))
        .map_err(|e| format!("{text:?}: {e}"))
}

pub fn run(command: &SessionCommand) -> Result<ExitCode, Failure> {
    match command {
        SessionCommand::New {
            key,
            token_key,
            ledger,
            label,
            session,
            expires_in,
            package,
        } => {
            let key = Key::load(key)?;
            let token_key = Key::load(token_key)?;
            let package = Package::open(package)?;
            let opened = open_session(
                &package,
                &key,
                &token_key,
                ledger,
                label.as_deref(),
                *session,
                *expires_in,
            )?;
            let summary = serde_json::json!({
                "session": format!("{:08x}", opened.claims.session),
                "title_id": opened.claims.title_id,
                "label": label,
                "expires": opened.entry.session.as_ref().and_then(|s| s.expires.clone()),
                "token": opened.token,
                "player": format!("/play/{}", opened.token),
                "ledger_seq": opened.entry.seq,
            });
            println!("{summary}");
        }
        SessionCommand::Mp4 {
            key,
            session,
            rendition,
            package,
            output,
        } => {
            let key = Key::load(key)?;
            let package = Package::open(package)?;
            let code = package.session_code(&key)?;
            let name = match rendition {
                Some(name) => name.clone(),
                None => package
                    .tallest_rendition()
                    .map(|r| r.name.clone())
                    .ok_or_else(|| Failure("the package has no renditions".into()))?,
            };
            filigree::twostep::prepare::session_copy(&package, &code, *session, &name, output)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
