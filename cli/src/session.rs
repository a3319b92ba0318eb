//! `filigree session`: open a viewer's session on a two-step package (or a live session,
//! rendered per viewer by `filigree serve --live`), and assemble a two-step session's copy
//! as one MP4 by stream copy.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use filigree::Key;
use filigree::ledger::LiveRender;
use filigree::overlay::{OverlayConfig, Position};
use filigree::twostep::Package;
use filigree::twostep::cwt::{self, EdgeClaims, EdgeKeys};
use filigree::twostep::session::{open_live_session, open_session, unix_now};

use crate::Failure;

#[derive(Subcommand)]
pub(crate) enum SessionCommand {
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
        /// Token format: `hex` for `filigree serve`, `cwt` for an A/B edge (`filigree
        /// edge`): a CBOR Web Token with the ETSI TS 104 002 watermarking claims, the
        /// session's A/B pattern encrypted in it (needs --expires-in).
        #[arg(long, value_enum, default_value = "hex", conflicts_with = "live")]
        token_format: TokenFormat,
        /// A live session: `filigree serve --live` renders it for the viewer as they watch,
        /// this overlay burned into every frame with the full mark of the session ID.
        #[arg(long)]
        live: bool,
        /// The live session's overlay: {label}, {session}, {recipient}, {date}, {time},
        /// {timecode}, {frame}; `\n` starts a new line.
        #[arg(
            long,
            requires = "live",
            default_value = "{label}  {session}  {timecode}"
        )]
        overlay: String,
        /// Where the live overlay goes: top-left, top-right, bottom-left, bottom-right,
        /// center, tiled or moving.
        #[arg(long, requires = "live", default_value = "bottom-right")]
        overlay_position: String,
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

/// Who checks the token: `filigree serve` or a CDN edge.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum TokenFormat {
    /// 64 hex digits, for `filigree serve`.
    Hex,
    /// A CWT (base64url) for an A/B edge.
    Cwt,
}

pub(crate) fn session_id(text: &str) -> Result<u32, String> {
    if text.len() == 8 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        u32::from_str_radix(text, 16).map_err(|e| e.to_string())
    } else {
        Err(format!("{text:?} is not a session ID (8 hex digits)"))
    }
}

/// A live session's rendering, checked as `filigree serve` will use it.
fn live_render(template: &str, position: &str) -> Result<LiveRender, Failure> {
    if Position::from_name(position).is_none() {
        let names: Vec<&str> = Position::NAMES.iter().map(|(n, _)| *n).collect();
        return Err(Failure(format!(
            "unknown position {position:?} (use {})",
            names.join(", ")
        )));
    }
    OverlayConfig {
        template: template.to_string(),
        ..OverlayConfig::default()
    }
    .validate()?;
    Ok(LiveRender {
        overlay: template.to_string(),
        position: position.to_string(),
    })
}

fn humantime_duration(text: &str) -> Result<u64, String> {
    text.parse::<humantime::Duration>()
        .map(|d| d.as_secs().max(1))
        .map_err(|e| format!("{text:?}: {e}"))
}

pub(crate) fn run(command: &SessionCommand) -> Result<ExitCode, Failure> {
    match command {
        SessionCommand::New {
            key,
            token_key,
            ledger,
            label,
            session,
            expires_in,
            token_format,
            live,
            overlay,
            overlay_position,
            package,
        } => {
            let key = Key::load(key)?;
            let token_key = Key::load(token_key)?;
            let package = Package::open(package)?;
            if *token_format == TokenFormat::Cwt && expires_in.is_none() {
                return Err(Failure(
                    "a CDN token must expire: give --expires-in (ETSI TS 104 002)".into(),
                ));
            }
            let opened = match live {
                true => {
                    let render = live_render(overlay, overlay_position)?;
                    open_live_session(
                        &package,
                        &key,
                        &token_key,
                        ledger,
                        label.as_deref(),
                        *session,
                        *expires_in,
                        render,
                    )?
                }
                false => open_session(
                    &package,
                    &key,
                    &token_key,
                    ledger,
                    label.as_deref(),
                    *session,
                    *expires_in,
                )?,
            };
            let (token, player) = match token_format {
                TokenFormat::Hex => (opened.token.clone(), format!("/play/{}", opened.token)),
                TokenFormat::Cwt => {
                    let code = package.session_code(&key)?;
                    let claims =
                        EdgeClaims::for_session(&package, &code, &opened.claims, unix_now())
                            .expect("an expiry was given");
                    let token = cwt::issue(&EdgeKeys::of(&token_key), &claims);
                    let player = format!("/t/{}/play/{token}", claims.title_id);
                    (token, player)
                }
            };
            let summary = serde_json::json!({
                "session": format!("{:08x}", opened.claims.session),
                "title_id": opened.claims.title_id,
                "label": label,
                "expires": opened.entry.session.as_ref().and_then(|s| s.expires.clone()),
                "token": token,
                "player": player,
                "ledger_seq": opened.entry.seq,
                "live": live,
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
