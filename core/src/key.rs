//! Secret keys, per-purpose key derivation and public fingerprints.
//!
//! All of Filigree's randomness comes from one 256-bit secret. Each use (sync pattern,
//! payload chips, integrity tag) gets its own HMAC-SHA256-derived subkey, so learning one
//! derived stream reveals nothing about the others or about the master key. The key is never
//! printed: `Debug` shows only the fingerprint.

use std::fmt;
use std::fs;
use std::io::Write;
use std::path::Path;

use hmac::{Hmac, KeyInit, Mac};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use sha2::{Digest, Sha256};

use crate::digest::{hex, unhex};
use crate::error::{Error, KeyError, Result};

/// Length of a Filigree key in bytes (256 bits).
pub const KEY_LEN: usize = 32;

/// First line of a key file; the second line is the key in hex.
const KEY_FILE_HEADER: &str = "filigree-key-v1";

/// What a derived subkey is used for. Each purpose yields an independent stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Signs of the synchronisation chips (recipient-independent).
    SyncPattern,
    /// Placement of payload chips in the tile and their signs.
    PayloadPattern,
    /// The keyed integrity tag appended to the recipient ID.
    IntegrityTag,
    /// The path of the moving visible overlay (context: the session ID), so a leaker who
    /// lacks the key cannot predict where the text will be.
    OverlayPath,
    /// The keyed integrity tag of a two-step variant mark (title, position, variant), apart
    /// from the recipient tag so neither kind of mark can pass for the other.
    VariantTag,
    /// The outer code over a two-step title's positions: which variant each position
    /// serves a session (context: the title ID).
    SessionCode,
    /// Playback session tokens, under the token key (not the marking key).
    SessionToken,
    /// The MAC of CDN-edge tokens (ETSI TS 104 002 CWTs), under the token key: an edge
    /// holds this subkey, never the token key itself.
    EdgeTokenMac,
    /// The encryption of a CDN-edge token's A/B pattern, under the token key: the viewer
    /// who holds the token cannot read or edit which variant each position serves.
    EdgePattern,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Purpose::SyncPattern => b"filigree/v1/sync-pattern",
            Purpose::PayloadPattern => b"filigree/v1/payload-pattern",
            Purpose::IntegrityTag => b"filigree/v1/integrity-tag",
            Purpose::OverlayPath => b"filigree/v1/overlay-path",
            Purpose::VariantTag => b"filigree/v1/variant-tag",
            Purpose::SessionCode => b"filigree/v1/session-code",
            Purpose::SessionToken => b"filigree/v1/session-token",
            Purpose::EdgeTokenMac => b"filigree/v1/edge-token-mac",
            Purpose::EdgePattern => b"filigree/v1/edge-pattern",
        }
    }
}

/// A 256-bit secret watermarking key.
#[derive(Clone, PartialEq, Eq)]
pub struct Key([u8; KEY_LEN]);

impl Key {
    /// A new key from the operating system's secure random source.
    pub fn generate() -> Result<Key> {
        let mut bytes = [0u8; KEY_LEN];
        getrandom::fill(&mut bytes).map_err(|e| Error::Random(e.to_string()))?;
        Ok(Key(bytes))
    }

    /// A key from raw bytes (for callers that manage key storage themselves).
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Key {
        Key(bytes)
    }

    /// The raw secret. Handle with care: never log it.
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// Public identifier of this key: 16 hex digits of a domain-separated SHA-256.
    /// Safe to print and store in ledgers; it cannot be turned back into the key.
    pub fn fingerprint(&self) -> String {
        let digest = Sha256::new()
            .chain_update(b"filigree/v1/fingerprint")
            .chain_update(self.0)
            .finalize();
        hex(&digest[..8])
    }

    /// HMAC-SHA256(key, purpose label || context): an independent 256-bit subkey.
    pub fn derive(&self, purpose: Purpose, context: &[u8]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0)
            .expect("HMAC accepts keys of any length");
        mac.update(purpose.label());
        mac.update(&[0]);
        mac.update(context);
        mac.finalize().into_bytes().into()
    }

    /// A ChaCha20 stream seeded from the subkey for `purpose`.
    pub fn rng(&self, purpose: Purpose) -> ChaCha20Rng {
        ChaCha20Rng::from_seed(self.derive(purpose, &[]))
    }

    /// Writes the key to a new file readable only by its owner (mode 0600).
    /// Refuses to overwrite an existing file. The key is written to a temporary file in the
    /// same directory first and linked into place, so a crash never leaves a partial key.
    pub fn save(&self, path: &Path) -> Result<()> {
        save_secret_file(path, KEY_FILE_HEADER, &self.0)
    }

    /// Reads a key written by [`Key::save`].
    pub fn load(path: &Path) -> Result<Key> {
        Key::parse_key_file(&read_secret_file(path)?).map_err(|reason| malformed(path, reason))
    }

    /// Parses the text of a key file; the error says what is wrong without quoting the
    /// content (which may be most of a key).
    pub fn parse_key_file(text: &str) -> std::result::Result<Key, String> {
        let mut lines = text.lines();
        if lines.next().map(str::trim) != Some(KEY_FILE_HEADER) {
            return Err("missing the 'filigree-key-v1' header line".into());
        }
        let digits = lines.next().map(str::trim).unwrap_or("");
        if digits.len() != 2 * KEY_LEN {
            return Err(format!(
                "the key must be {} hex digits, found {}",
                2 * KEY_LEN,
                digits.len()
            ));
        }
        let bytes = unhex::<KEY_LEN>(digits).ok_or("non-hex characters")?;
        if lines.any(|l| !l.trim().is_empty()) {
            return Err("unexpected content after the key".into());
        }
        Ok(Key(bytes))
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key(fingerprint {})", self.fingerprint())
    }
}

/// Writes `header` and `secret` in hex to a new owner-only file ([`write_secret_file`]).
/// Marking and evidence keys alike.
pub(crate) fn save_secret_file(path: &Path, header: &str, secret: &[u8]) -> Result<()> {
    write_secret_file(path, &format!("{header}\n{}\n", hex(secret)))
}

/// Writes `text` (something that holds a secret) to a new file readable only by its owner
/// (mode 0600), through a temporary file in the same directory linked into place: never
/// over an existing file, never a partial secret after a crash.
pub fn write_secret_file(path: &Path, text: &str) -> Result<()> {
    let io_error = |source| {
        Error::Key(KeyError::Io {
            path: path.to_path_buf(),
            source,
        })
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".filigree-key-")
        .permissions(owner_only())
        .tempfile_in(dir)
        .map_err(io_error)?;
    tmp.write_all(text.as_bytes()).map_err(io_error)?;
    tmp.as_file().sync_all().map_err(io_error)?;
    tmp.persist_noclobber(path).map_err(|e| io_error(e.error))?;
    Ok(())
}

/// The text of a key file written by [`save_secret_file`]. Errors never quote the file.
pub(crate) fn read_secret_file(path: &Path) -> Result<String> {
    fs::read_to_string(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::InvalidData => malformed(path, "not a text file".into()),
        _ => KeyError::Io {
            path: path.to_path_buf(),
            source,
        }
        .into(),
    })
}

/// A key file that does not hold a key, and why (never its content).
pub(crate) fn malformed(path: &Path, reason: String) -> Error {
    Error::Key(KeyError::Malformed {
        path: path.to_path_buf(),
        reason,
    })
}

#[cfg(unix)]
fn owner_only() -> fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    fs::Permissions::from_mode(0o600)
}

#[cfg(not(unix))]
fn owner_only() -> fs::Permissions {
    let mut p = fs::metadata(".").expect("cwd").permissions();
    p.set_readonly(false);
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_take_exactly_64_hex_digits() {
        let good = format!("{KEY_FILE_HEADER}\n{}\n", "0f".repeat(KEY_LEN));
        assert_eq!(
            Key::parse_key_file(&good).unwrap().as_bytes(),
            &[0x0f; KEY_LEN]
        );
        // A sign is not a hex digit, though `u8::from_str_radix` accepts "+f".
        let signed = format!("{KEY_FILE_HEADER}\n{}\n", "+f".repeat(KEY_LEN));
        assert_eq!(
            Key::parse_key_file(&signed).unwrap_err(),
            "non-hex characters"
        );
        let multibyte = format!("{KEY_FILE_HEADER}\n{}é\n", "0".repeat(2 * KEY_LEN - 2));
        assert!(Key::parse_key_file(&multibyte).is_err());
    }

    #[test]
    fn derived_subkeys_differ_by_purpose_and_key() {
        let a = Key::from_bytes([1; KEY_LEN]);
        let b = Key::from_bytes([2; KEY_LEN]);
        assert_ne!(
            a.derive(Purpose::SyncPattern, &[]),
            a.derive(Purpose::PayloadPattern, &[])
        );
        assert_ne!(
            a.derive(Purpose::SyncPattern, &[]),
            b.derive(Purpose::SyncPattern, &[])
        );
        assert_eq!(
            a.derive(Purpose::IntegrityTag, b"x"),
            a.derive(Purpose::IntegrityTag, b"x")
        );
    }

    #[test]
    fn debug_shows_fingerprint_not_key() {
        let key = Key::from_bytes([0xab; KEY_LEN]);
        let shown = format!("{key:?}");
        assert!(shown.contains(&key.fingerprint()));
        assert!(!shown.contains("abab"));
    }

    #[test]
    fn save_load_round_trip_with_owner_only_mode_and_no_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.key");
        let key = Key::generate().unwrap();
        key.save(&path).unwrap();
        assert_eq!(Key::load(&path).unwrap(), key);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        assert!(Key::generate().unwrap().save(&path).is_err());
        assert_eq!(
            Key::load(&path).unwrap(),
            key,
            "refused save must not touch the file"
        );
    }

    #[test]
    fn malformed_key_files_are_rejected_without_echoing_content() {
        let dir = tempfile::tempdir().unwrap();
        for (name, body) in [
            ("empty", ""),
            ("noheader", "00112233\n"),
            ("short", "filigree-key-v1\n0011\n"),
            ("nonhex", &format!("filigree-key-v1\n{}\n", "zz".repeat(32))),
        ] {
            let path = dir.path().join(name);
            fs::write(&path, body).unwrap();
            let err = Key::load(&path).unwrap_err().to_string();
            assert!(err.contains(name), "error names the file: {err}");
            assert!(
                !err.contains("zzzz"),
                "error must not echo key material: {err}"
            );
        }
        assert!(Key::load(&dir.path().join("missing")).is_err());
    }
}
