//! `filigree ledger verify|show`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use filigree::ledger;

use crate::Failure;

#[derive(Subcommand)]
pub(crate) enum LedgerCommand {
    /// Check the hash chain; report the first altered, removed, reordered or inserted entry.
    Verify { file: PathBuf },
    /// List the entries (exit 1, with a warning, when the hash chain is damaged).
    Show {
        file: PathBuf,
        /// One JSON array on stdout.
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn run(command: &LedgerCommand) -> Result<ExitCode, Failure> {
    match command {
        LedgerCommand::Verify { file } => {
            let report = ledger::verify(file)?;
            match report.problem {
                None => {
                    println!(
                        "ledger {} OK: {} entries, head hash {}",
                        file.display(),
                        report.entries,
                        report.head_hash.as_deref().unwrap_or("(empty)")
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Some(problem) => {
                    println!(
                        "ledger {} FAILED at line {}: {}",
                        file.display(),
                        problem.line,
                        problem.message
                    );
                    Ok(ExitCode::from(1))
                }
            }
        }
        LedgerCommand::Show { file, json } => {
            let entries = ledger::read(file)?;
            if *json {
                println!("{}", serde_json::to_string(&entries)?);
            } else {
                for e in &entries {
                    println!(
                        "{:>5}  {}  recipient {:>10}  {:<24}  key {}  out {}",
                        e.seq,
                        e.time,
                        e.recipient,
                        e.label.as_deref().unwrap_or("-"),
                        e.key_fingerprint,
                        &e.output_sha256[..e.output_sha256.len().min(16)]
                    );
                }
            }
            // Listing is not vouching: entries of an edited ledger could name the wrong person.
            match ledger::verify(file)?.problem {
                None => Ok(ExitCode::SUCCESS),
                Some(problem) => {
                    eprintln!(
                        "filigree: warning: ledger {} is damaged at line {}: {}; do not trust these entries",
                        file.display(),
                        problem.line,
                        problem.message
                    );
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}
