//! The evidence key: an Ed25519 signing key that vouches for reports and ledger heads.
//!
//! It is a key of its own, never the marking key: whoever checks a signature learns the
//! public half, and nothing about the evidence key says anything about the mark. Its file is
//! `filigree-evidence-key-v1` and the 32-byte Ed25519 seed in hex, written like a marking
//! key file (owner-only, through a temporary linked into place, never over an existing
//! file); neither loader accepts the other's file.

use std::fmt;
use std::path::Path;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::digest::{hex, unhex};
use crate::error::{Error, Result};
use crate::key::{malformed, read_secret_file, save_secret_file};

/// First line of an evidence key file; the second is the Ed25519 seed in hex.
const EVIDENCE_KEY_HEADER: &str = "filigree-evidence-key-v1";

/// The signature algorithm named in every signature block.
pub const ALGORITHM: &str = "Ed25519";

/// An Ed25519 evidence key (the secret half). `Debug` shows only its fingerprint.
#[derive(Clone)]
pub struct EvidenceKey(SigningKey);

impl EvidenceKey {
    /// A new key from the operating system's secure random source.
    pub fn generate() -> Result<EvidenceKey> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| Error::Random(e.to_string()))?;
        Ok(EvidenceKey(SigningKey::from_bytes(&seed)))
    }

    /// A key from its 32-byte seed (for callers that keep keys themselves, and tests).
    pub fn from_seed(seed: [u8; 32]) -> EvidenceKey {
        EvidenceKey(SigningKey::from_bytes(&seed))
    }

    /// The public key, lowercase hex (64 digits): what signatures carry.
    pub fn public_key(&self) -> String {
        hex(self.0.verifying_key().as_bytes())
    }

    /// Public identifier: 16 hex digits of a domain-separated SHA-256 of the public key
    /// ([`fingerprint_of`]).
    pub fn fingerprint(&self) -> String {
        fingerprint_of(self.0.verifying_key().as_bytes())
    }

    /// The Ed25519 signature of `message`, lowercase hex (128 digits).
    pub fn sign(&self, message: &[u8]) -> String {
        hex(&self.0.sign(message).to_bytes())
    }

    /// Writes the key to a new owner-only file (mode 0600); refuses to overwrite.
    pub fn save(&self, path: &Path) -> Result<()> {
        save_secret_file(path, EVIDENCE_KEY_HEADER, self.0.as_bytes())
    }

    /// Reads a key written by [`EvidenceKey::save`]. The error never quotes the file.
    pub fn load(path: &Path) -> Result<EvidenceKey> {
        let text = read_secret_file(path)?;
        let refuse = |reason: &str| malformed(path, reason.into());
        let mut lines = text.lines();
        match lines.next().map(str::trim) {
            Some(EVIDENCE_KEY_HEADER) => {}
            Some("filigree-key-v1") => {
                return Err(refuse(
                    "this is a marking key; sign with an evidence key (filigree keygen --evidence)",
                ));
            }
            _ => return Err(refuse("missing the 'filigree-evidence-key-v1' header")),
        }
        let seed = unhex::<32>(lines.next().map(str::trim).unwrap_or(""))
            .ok_or_else(|| refuse("the seed must be 64 hex digits"))?;
        if lines.any(|l| !l.trim().is_empty()) {
            return Err(refuse("unexpected content after the key"));
        }
        Ok(EvidenceKey::from_seed(seed))
    }
}

impl fmt::Debug for EvidenceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EvidenceKey(fingerprint {})", self.fingerprint())
    }
}

/// The fingerprint of an Ed25519 public key: 16 hex digits of
/// SHA-256("filigree/v1/evidence-fingerprint" || key).
pub fn fingerprint_of(public_key: &[u8; 32]) -> String {
    let digest = Sha256::new()
        .chain_update(b"filigree/v1/evidence-fingerprint")
        .chain_update(public_key)
        .finalize();
    hex(&digest[..8])
}

/// Checks an Ed25519 signature (hex) over `message` by `public_key` (hex). Strict
/// verification: malleable and small-order forms are refused.
pub fn verify(
    public_key: &str,
    message: &[u8],
    signature: &str,
) -> std::result::Result<(), String> {
    let key = unhex::<32>(public_key).ok_or("the public key is not 64 hex digits")?;
    let key = VerifyingKey::from_bytes(&key).map_err(|_| "the public key is not a valid point")?;
    let signature = unhex::<64>(signature).ok_or("the signature is not 128 hex digits")?;
    key.verify_strict(message, &Signature::from_bytes(&signature))
        .map_err(|_| "the signature does not match".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8032, section 7.1, test 2: the seed, public key and signature of one byte.
    #[test]
    fn signs_as_rfc_8032_test_2() {
        let key = EvidenceKey::from_seed(
            unhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb").unwrap(),
        );
        assert_eq!(
            key.public_key(),
            "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"
        );
        let signature = key.sign(&[0x72]);
        assert_eq!(
            signature,
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da\
             085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"
        );
        assert!(verify(&key.public_key(), &[0x72], &signature).is_ok());
        assert!(verify(&key.public_key(), &[0x73], &signature).is_err());
    }

    #[test]
    fn files_round_trip_owner_only_and_refuse_marking_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("evidence.key");
        let key = EvidenceKey::generate().unwrap();
        key.save(&path).unwrap();
        assert_eq!(
            EvidenceKey::load(&path).unwrap().public_key(),
            key.public_key()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        assert!(EvidenceKey::generate().unwrap().save(&path).is_err());
        let marking = dir.path().join("marking.key");
        crate::Key::generate().unwrap().save(&marking).unwrap();
        let err = EvidenceKey::load(&marking).unwrap_err().to_string();
        assert!(err.contains("marking key"), "{err}");
        assert!(crate::Key::load(&path).is_err());
        let shown = format!("{key:?}");
        assert!(shown.contains(&key.fingerprint()) && !shown.contains(&key.public_key()));
    }
}
