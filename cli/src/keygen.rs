//! `filigree keygen`: a new marking key file, or (`--evidence`) an Ed25519 evidence key.

use std::path::Path;
use std::process::ExitCode;

use filigree::Key;
use filigree::evidence::EvidenceKey;

use crate::Failure;

pub(crate) fn run(out: &Path, evidence: bool, quiet: bool) -> Result<ExitCode, Failure> {
    if evidence {
        let key = EvidenceKey::generate()?;
        key.save(out)?;
        // The public half is what third parties check signatures against: print it on
        // stdout, where a script can keep it; the secret stays in the file.
        println!(
            "evidence key {} fingerprint {} public key {}",
            out.display(),
            key.fingerprint(),
            key.public_key()
        );
        return Ok(ExitCode::SUCCESS);
    }
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
