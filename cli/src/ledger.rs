//! `filigree ledger verify|show|head`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;
use filigree::evidence::{self, EvidenceKey, HeadCheck, SignatureCheck};
use filigree::ledger;

use crate::Failure;

#[derive(Subcommand)]
pub(crate) enum LedgerCommand {
    /// Check the hash chain; report the first altered, removed, reordered or inserted entry.
    /// Signed heads (the ledger's `.heads` file, and each `--head`) are checked too: a
    /// truncation or a rewrite with a new chain is found against them.
    Verify {
        /// The ledger.
        file: PathBuf,
        /// A signed head statement (`filigree ledger head --sign`): a file, or the
        /// statement's JSON itself. Repeat for several.
        #[arg(long, value_name = "STATEMENT")]
        head: Vec<String>,
        /// The evidence key fingerprint every statement must be signed by.
        #[arg(long, value_name = "FINGERPRINT")]
        signer: Option<String>,
    },
    /// Print a short signed statement of the ledger's head (entry count, head hash, time,
    /// the evidence key's public half) to publish or mail to a third party.
    Head {
        /// The ledger.
        file: PathBuf,
        /// The evidence key to sign with (`filigree keygen --evidence`).
        #[arg(long, value_name = "EVIDENCE_KEY")]
        sign: PathBuf,
        /// Also keep the statement in the ledger's `.heads` file: the entries up to here
        /// are then signed as a batch, and `ledger verify` checks them every time.
        #[arg(long)]
        record: bool,
    },
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
        LedgerCommand::Verify { file, head, signer } => verify(file, head, signer.as_deref()),
        LedgerCommand::Head { file, sign, record } => {
            let key = EvidenceKey::load(sign)?;
            let statement = if *record {
                evidence::record_head(file, &key)?
            } else {
                evidence::head_statement(file, &key)?
            };
            println!("{}", serde_json::to_string(&statement)?);
            Ok(ExitCode::SUCCESS)
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

/// `ledger verify`: the chain, then each signed head; exit 1 on any failure.
fn verify(file: &Path, heads: &[String], signer: Option<&str>) -> Result<ExitCode, Failure> {
    let given = heads
        .iter()
        .map(|head| statement_text(head))
        .collect::<Result<Vec<_>, _>>()?;
    let audit = evidence::audit(file, &given, signer)?;
    match &audit.chain.problem {
        None => println!(
            "ledger {} OK: {} entries, head hash {}",
            file.display(),
            audit.chain.entries,
            audit.chain.head_hash.as_deref().unwrap_or("(empty)")
        ),
        Some(problem) => println!(
            "ledger {} FAILED at line {}: {}: {}",
            file.display(),
            problem.line,
            problem.kind,
            problem.message
        ),
    }
    for (line, reason) in &audit.unreadable {
        println!(
            "signed heads FAILED: {} line {line}: {reason}",
            evidence::heads_path(file).display()
        );
    }
    for check in &audit.heads {
        println!("{}", describe(check));
    }
    if audit.heads.is_empty() && audit.unreadable.is_empty() && audit.chain.is_ok() {
        // A broken chain is the one line: nothing else about it can be trusted.
        println!(
            "unsigned: no signed head for this ledger (filigree ledger head --sign EVIDENCE_KEY \
             --record signs it); its order is proven, not who wrote it, nor against truncation \
             or a rewrite"
        );
    } else if audit.chain.is_ok() && (audit.signed_entries as usize) < audit.chain.entries {
        println!(
            "unsigned since: entries {} to {} are after the last signed head",
            audit.signed_entries + 1,
            audit.chain.entries
        );
    }
    Ok(if audit.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// A `--head` argument: the statement itself when it looks like JSON, else a file holding it.
fn statement_text(head: &str) -> Result<(String, String), Failure> {
    if head.trim_start().starts_with('{') {
        return Ok(("the --head statement".into(), head.to_string()));
    }
    let text = std::fs::read_to_string(head)
        .map_err(|e| Failure(format!("cannot read the head statement {head}: {e}")))?;
    Ok((head.to_string(), text))
}

fn describe(check: &HeadCheck) -> String {
    let s = &check.statement;
    let what = format!(
        "signed head of {} entries ({}…, {})",
        s.entries,
        &s.head_hash[..16],
        if s.time.is_empty() {
            "no time"
        } else {
            &s.time
        }
    );
    match &s.signature {
        SignatureCheck::Valid {
            key_fingerprint, ..
        } => {
            let status = if check.outcome.is_ok() {
                "OK"
            } else {
                "FAILED"
            };
            format!(
                "{what} by evidence key {key_fingerprint} [{}]: {status}: {}",
                check.source, check.outcome
            )
        }
        SignatureCheck::Unsigned => format!(
            "{what} [{}]: FAILED: the statement carries no signature",
            check.source
        ),
        SignatureCheck::Invalid(reason) => format!(
            "{what} [{}]: FAILED: signature invalid: {reason}",
            check.source
        ),
    }
}
