//! The entry model: one line of the ledger, the formats its fields must have, and the
//! canonical encoding its `hash` covers (the rules are in the [ledger docs](super)). Kept
//! apart from the file and the chain so the hash a ledger depends on is defined in one place.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::digest::hex;

/// Stands in for `input_sha256` / `output_sha256` when the video was a pipe (stdin/stdout):
/// its bytes are gone once streamed, so there is nothing to hash.
pub const UNHASHED_STREAM: &str = "-";

/// Longest accepted label, in bytes of UTF-8.
pub const MAX_LABEL_BYTES: usize = 4096;

/// Longest accepted key fingerprint, in bytes.
pub const MAX_FINGERPRINT_BYTES: usize = 128;

/// One line of the ledger. Field order is the canonical hash order (see the
/// [ledger docs](super)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerEntry {
    /// Position in the ledger, starting at 1, increasing by one per entry.
    pub seq: u64,
    /// When the entry was appended: UTC, RFC 3339 with whole seconds.
    pub time: String,
    /// The recipient ID embedded in the output.
    pub recipient: u64,
    /// Who the recipient is, if the operator said so.
    pub label: Option<String>,
    /// Public fingerprint of the key used ([`crate::Key::fingerprint`]), never the key.
    pub key_fingerprint: String,
    /// SHA-256 of the unmarked input file, lowercase hex.
    pub input_sha256: String,
    /// SHA-256 of the marked output file, lowercase hex.
    pub output_sha256: String,
    /// Set for a two-step session (see the [ledger docs](super)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionEntry>,
    /// `hash` of the previous entry, or [`GENESIS_HASH`](super::GENESIS_HASH) for the first.
    pub prev_hash: String,
    /// SHA-256 of the canonical encoding of all the fields above, lowercase hex.
    pub hash: String,
}

/// What a session's entry adds: which title it streams, and until when. For these entries
/// `recipient` is the session ID and `input_sha256` the package's master. A two-step
/// session's `output_sha256` is the SHA-256 of the variant sequence served (one `a`/`b` per
/// position); a live session's is that of its [`LiveRender`] as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionEntry {
    /// The title streamed.
    pub title_id: u16,
    /// UTC, RFC 3339 with whole seconds.
    pub expires: Option<String>,
    /// Set for a live session: rendered for this viewer as they watch, every frame with the
    /// visible overlay and the full single-step mark of the session ID (no A/B variants).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<LiveRender>,
}

/// How a live session is rendered: its burned-in overlay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveRender {
    /// The overlay template (`{label}`, `{session}`, `{timecode}` …).
    pub overlay: String,
    /// Where it is drawn (`bottom-right`, `moving` …).
    pub position: String,
}

/// The fields covered by `hash`, in canonical order.
#[derive(Serialize)]
struct Canonical<'a> {
    seq: u64,
    time: &'a str,
    recipient: u64,
    label: Option<&'a str>,
    key_fingerprint: &'a str,
    input_sha256: &'a str,
    output_sha256: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    session: Option<&'a SessionEntry>,
    prev_hash: &'a str,
}

impl LedgerEntry {
    /// The two-step title whose A/B variants this entry's session was served; `None` for an
    /// entry whose video carries the single-step mark of `recipient` (a file marked by
    /// `embed`, or a live session).
    pub fn two_step_title(&self) -> Option<u16> {
        self.session
            .as_ref()
            .filter(|s| s.live.is_none())
            .map(|s| s.title_id)
    }

    /// The live session's title and rendering, for a live session's entry.
    pub fn live(&self) -> Option<(u16, &LiveRender)> {
        let session = self.session.as_ref()?;
        Some((session.title_id, session.live.as_ref()?))
    }

    /// The hash this entry's values call for: lowercase hex SHA-256 of the canonical encoding
    /// described in the [ledger docs](super). Equals `self.hash` for an unaltered entry.
    pub fn compute_hash(&self) -> String {
        let canonical = Canonical {
            seq: self.seq,
            time: &self.time,
            recipient: self.recipient,
            label: self.label.as_deref(),
            key_fingerprint: &self.key_fingerprint,
            input_sha256: &self.input_sha256,
            output_sha256: &self.output_sha256,
            session: self.session.as_ref(),
            prev_hash: &self.prev_hash,
        };
        let bytes = serde_json::to_vec(&canonical).expect("serialising strings and integers");
        hex(&Sha256::digest(&bytes))
    }

    /// Checks the format of every field (not the hash or the chain).
    pub(super) fn check_fields(&self) -> std::result::Result<(), String> {
        if self.seq == 0 {
            return Err("seq must start at 1".into());
        }
        if humantime::parse_rfc3339(&self.time).is_err() {
            return Err(format!(
                "time {:?} is not an RFC 3339 UTC timestamp",
                self.time
            ));
        }
        if let Some(label) = &self.label {
            check_label(label)?;
        }
        check_fingerprint(&self.key_fingerprint)?;
        check_sha256("input_sha256", &self.input_sha256)?;
        check_sha256("output_sha256", &self.output_sha256)?;
        check_sha256("prev_hash", &self.prev_hash)?;
        if let Some(expires) = self.session.as_ref().and_then(|s| s.expires.as_deref()) {
            check_time("session expiry", expires)?;
        }
        if let Some(live) = self.session.as_ref().and_then(|s| s.live.as_ref()) {
            check_label(&live.overlay)?;
            check_label(&live.position)?;
        }
        check_sha256("hash", &self.hash)
    }
}

/// What [`append`](super::append) records: everything but the sequence number, time and hashes.
#[derive(Debug, Clone, Copy)]
pub struct NewEntry<'a> {
    /// The recipient ID embedded (a session's ID for a session).
    pub recipient: u64,
    /// At most [`MAX_LABEL_BYTES`], no control characters.
    pub label: Option<&'a str>,
    /// [`crate::Key::fingerprint`]. A 64-hex-digit value is refused: that is what a raw key
    /// looks like.
    pub key_fingerprint: &'a str,
    /// Lowercase hex SHA-256, as [`sha256_file`](crate::digest::sha256_file) returns.
    pub input_sha256: &'a str,
    /// Lowercase hex SHA-256, as [`sha256_file`](crate::digest::sha256_file) returns.
    pub output_sha256: &'a str,
    /// Set for a two-step session.
    pub session: Option<&'a SessionEntry>,
}

/// Checks the format of every field of an entry about to be appended, and that the key
/// fingerprint is not the key itself.
pub(super) fn check_new_entry(entry: &NewEntry) -> std::result::Result<(), String> {
    if let Some(label) = entry.label {
        check_label(label)?;
    }
    check_fingerprint(entry.key_fingerprint)?;
    if entry.key_fingerprint.len() == 64 && is_lower_hex(entry.key_fingerprint) {
        return Err(
            "key_fingerprint looks like a raw 256-bit key; record Key::fingerprint(), never the key"
                .into(),
        );
    }
    check_sha256("input_sha256", entry.input_sha256)?;
    check_sha256("output_sha256", entry.output_sha256)?;
    if let Some(expires) = entry.session.and_then(|s| s.expires.as_deref()) {
        check_time("session expiry", expires)?;
    }
    Ok(())
}

fn check_time(what: &str, time: &str) -> std::result::Result<(), String> {
    if humantime::parse_rfc3339(time).is_err() {
        return Err(format!("{what} {time:?} is not an RFC 3339 UTC timestamp"));
    }
    Ok(())
}

fn check_label(label: &str) -> std::result::Result<(), String> {
    if label.len() > MAX_LABEL_BYTES {
        return Err(format!(
            "label is {} bytes; the limit is {MAX_LABEL_BYTES}",
            label.len()
        ));
    }
    if label.chars().any(char::is_control) {
        return Err("label contains control characters".into());
    }
    Ok(())
}

fn check_fingerprint(fingerprint: &str) -> std::result::Result<(), String> {
    if fingerprint.is_empty()
        || fingerprint.len() > MAX_FINGERPRINT_BYTES
        || !fingerprint.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(format!(
            "key_fingerprint must be 1 to {MAX_FINGERPRINT_BYTES} printable ASCII characters \
             without spaces"
        ));
    }
    Ok(())
}

fn check_sha256(field: &str, value: &str) -> std::result::Result<(), String> {
    if value != UNHASHED_STREAM && (value.len() != 64 || !is_lower_hex(value)) {
        return Err(format!(
            "{field} must be 64 lowercase hex digits or \"{UNHASHED_STREAM}\""
        ));
    }
    Ok(())
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}
