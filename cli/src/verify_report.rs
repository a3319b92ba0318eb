//! `filigree verify-report`: a signed evidence report checked, and its detection re-run.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use filigree::Key;
use filigree_report::verify::{Against, verify_report};

use crate::Failure;

#[derive(Args)]
pub(crate) struct VerifyReportArgs {
    /// The report's facts (`case.json`, beside `case.html`; the `.html` path works too).
    report: PathBuf,
    /// The leak the report is about: its SHA-256 is checked and, with --key, the detection
    /// re-run with the options the report records.
    #[arg(long, value_name = "FILE")]
    leak: Option<PathBuf>,
    /// The marking key (repeat for a keyring): needed to re-run the detection.
    #[arg(long, value_name = "KEY", requires = "leak")]
    key: Vec<PathBuf>,
    /// The ledger the report was checked against: it must still extend the head the
    /// report records, and is used up to that head to re-run the accusations.
    #[arg(long, value_name = "LEDGER")]
    ledger: Option<PathBuf>,
    /// The master, for a report of an informed detection.
    #[arg(long, value_name = "MASTER")]
    reference: Option<PathBuf>,
    /// The evidence key fingerprint the report must be signed by.
    #[arg(long, value_name = "FINGERPRINT")]
    signer: Option<String>,
}

pub(crate) fn run(args: &VerifyReportArgs) -> Result<ExitCode, Failure> {
    let keys = args
        .key
        .iter()
        .map(|path| Key::load(path))
        .collect::<Result<Vec<_>, _>>()?;
    let against = Against {
        leak: args.leak.as_deref(),
        keys: &keys,
        ledger: args.ledger.as_deref(),
        reference: args.reference.as_deref(),
        signer: args.signer.as_deref(),
    };
    let verification = verify_report(&args.report, &against)?;
    for line in verification.lines() {
        println!("{line}");
    }
    if verification.is_ok() {
        println!("report {} verified", args.report.display());
        Ok(ExitCode::SUCCESS)
    } else {
        println!("report {} FAILED verification", args.report.display());
        Ok(ExitCode::from(1))
    }
}
