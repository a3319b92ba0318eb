//! `filigree keygen`: a new key file.

use std::path::Path;
use std::process::ExitCode;

use filigree::Key;

use crate::Failure;

pub(crate) fn run(out: &Path, quiet: bool) -> Result<ExitCode, Failure> {
    let key = Key::generate()?;
    key.save(out)?;
    if !quiet {
        eprintln!(
            "wrote key {} (fingerprint {})",
            out.display(),
            key.fingerprint()
        );
    }
    Ok(ExitCode::SUCCESS)
}
