//! `filigree`: mark video files for a recipient, find the recipient in a leaked copy, and
//! keep a tamper-evident ledger of who got which copy.
//!
//! Exit codes: 0 success (for `detect`: a recipient was found), 1 `detect` found no watermark,
//! `ledger verify` found a problem or `verify-report` a failed check, 2 any error. Errors are
//! one line on stderr.

mod detect;
mod edge;
mod embed;
mod gpu;
mod interrupt;
mod keygen;
mod ledger;
mod prepare;
mod progress;
mod serve;
mod session;
mod verify_report;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "filigree",
    version,
    about = "Forensic video watermarking: invisible, keyed recipient IDs that survive leaks"
)]
struct Cli {
    /// No progress bars and no human-readable summaries on stderr.
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a new random 256-bit key file (mode 0600; never overwrites).
    Keygen {
        /// Where to write the key.
        #[arg(long)]
        out: PathBuf,
        /// Make an Ed25519 evidence key instead (signs reports and ledger heads; never the
        /// marking key): its fingerprint and public key are printed, the secret never.
        #[arg(long)]
        evidence: bool,
    },
    /// Mark a video for one recipient.
    Embed(embed::EmbedArgs),
    /// Render a viewer's screener: overlay and mark on the GPU (CPU if none), to a file or a
    /// player (`filigree screen ... - | ffplay -`).
    Screen(embed::ScreenArgs),
    /// Find the recipient ID in a (leaked) video.
    Detect(detect::DetectArgs),
    /// Prepare a master as a two-step (A/B) package for streaming.
    Prepare(prepare::PrepareArgs),
    /// Open viewer sessions on a two-step package; assemble a session's copy.
    Session {
        #[command(subcommand)]
        command: session::SessionCommand,
    },
    /// Serve a two-step package: per-session HLS under signed tokens, and the web player.
    Serve(serve::ServeArgs),
    /// Write an nginx A/B edge (ETSI TS 104 002) that serves CDN tokens' sessions from
    /// two-step packages, holding no marking key.
    Edge(edge::EdgeArgs),
    /// Check a signed evidence report; given the leak and the key, re-run its detection and
    /// say whether it reproduces (exit 1 on any failed check).
    VerifyReport(verify_report::VerifyReportArgs),
    /// Inspect an embedding ledger, sign its head, verify it against signed heads.
    Ledger {
        #[command(subcommand)]
        command: ledger::LedgerCommand,
    },
}

/// A command's failure: one line for the user, exit code 2.
pub struct Failure(pub String);

impl<E: std::fmt::Display + 'static> From<E> for Failure {
    fn from(error: E) -> Failure {
        match advice(&error) {
            Some(advice) => Failure(format!("{error} ({advice})")),
            None => Failure(error.to_string()),
        }
    }
}

/// What the command line adds to a library error: the library says what went wrong, only the
/// CLI knows which flag changes it.
fn advice(error: &dyn std::any::Any) -> Option<&'static str> {
    if let Some(error) = error.downcast_ref::<filigree_server::ServerError>() {
        return match error {
            filigree_server::ServerError::LiveNeedsLedger => Some("give --ledger"),
            filigree_server::ServerError::Library(library) => advice(library),
            _ => None,
        };
    }
    match error.downcast_ref::<filigree::Error>()? {
        filigree::Error::OutputExists { .. } => Some("use --force to overwrite"),
        _ => None,
    }
}

fn main() -> ExitCode {
    // A bug must still end in one clear line and exit code 2, never a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".into());
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            // The reader of our output went away (`filigree detect ... | head -1`): not a
            // bug; end as tools killed by SIGPIPE do, without a word.
            std::process::exit(141);
        }
        eprintln!("filigree: internal error: {message} (please report this)");
        std::process::exit(2);
    }));
    if std::env::var_os("SVT_LOG").is_none() {
        // SVT-AV1 prints its configuration banner straight to stderr; errors only, so that
        // stderr holds Filigree's own lines. SAFETY: no other thread exists yet.
        unsafe { std::env::set_var("SVT_LOG", "1") };
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Keygen { out, evidence } => keygen::run(&out, evidence, cli.quiet),
        Command::Embed(args) => embed::run(&args, cli.quiet),
        Command::Screen(args) => embed::run_screen(&args, cli.quiet),
        Command::Detect(args) => detect::run(&args, cli.quiet),
        Command::Prepare(args) => prepare::run(&args, cli.quiet),
        Command::Session { command } => session::run(&command),
        Command::Serve(args) => serve::run(&args),
        Command::Edge(args) => edge::run(&args, cli.quiet),
        Command::VerifyReport(args) => verify_report::run(&args),
        Command::Ledger { command } => ledger::run(&command),
    };
    match result {
        Ok(code) => code,
        Err(Failure(message)) => {
            eprintln!("filigree: error: {message}");
            ExitCode::from(2)
        }
    }
}
