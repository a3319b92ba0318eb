//! Session tokens: what a viewer's player presents instead of any key.
//!
//! A token is 64 hex digits: the session ID (4 bytes), the title ID (2 bytes) and the expiry
//! (8 bytes, Unix seconds, 0 for none), then the first 18 bytes of HMAC-SHA256 over those
//! 14 bytes under the *token key*, a key of its own: a server that hands out playback
//! tokens never needs the marking key to check them, and a leaked token key lets nobody
//! forge marks. The token names the session, so it is as private as the session's link;
//! it reveals neither key nor which variant any position serves.

use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::key::{Key, Purpose};

const CLAIM_BYTES: usize = 14;
const TAG_BYTES: usize = 18;
/// Length of a token in hex digits.
pub const TOKEN_LEN: usize = 2 * (CLAIM_BYTES + TAG_BYTES);

/// What a token grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionClaims {
    /// The session ID: which outer codeword the viewer is served, and what detection recovers.
    pub session: u32,
    /// The title the token plays (a package's [`crate::twostep::Manifest::title_id`]).
    pub title_id: u16,
    /// Unix seconds after which the token is refused; `None` never.
    pub expires: Option<u64>,
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// Not [`TOKEN_LEN`] lowercase hex digits.
    Malformed,
    /// Well formed, but the HMAC tag does not verify under the token key.
    BadSignature,
    /// Signed, but presented at or after its expiry time.
    Expired,
}

impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TokenError::Malformed => "malformed token",
            TokenError::BadSignature => "token signature does not verify",
            TokenError::Expired => "token has expired",
        })
    }
}

fn mac(token_key: &Key) -> Hmac<Sha256> {
    <Hmac<Sha256> as KeyInit>::new_from_slice(&token_key.derive(Purpose::SessionToken, &[]))
        .expect("HMAC accepts keys of any length")
}

fn claim_bytes(claims: &SessionClaims) -> [u8; CLAIM_BYTES] {
    let mut bytes = [0u8; CLAIM_BYTES];
    bytes[0..4].copy_from_slice(&claims.session.to_be_bytes());
    bytes[4..6].copy_from_slice(&claims.title_id.to_be_bytes());
    bytes[6..14].copy_from_slice(&claims.expires.unwrap_or(0).to_be_bytes());
    bytes
}

/// The token for `claims` under `token_key`.
pub fn issue(token_key: &Key, claims: &SessionClaims) -> String {
    let bytes = claim_bytes(claims);
    let mut mac = mac(token_key);
    mac.update(&bytes);
    let tag = mac.finalize().into_bytes();
    let mut token = hex(&bytes);
    token.push_str(&hex(&tag[..TAG_BYTES]));
    token
}

/// The claims of `token` if it is well formed, signed under `token_key` and not expired at
/// `now` (Unix seconds). The signature is checked in constant time.
pub fn verify(token_key: &Key, token: &str, now: u64) -> Result<SessionClaims, TokenError> {
    if token.len() != TOKEN_LEN
        || !token
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(TokenError::Malformed);
    }
    let raw: Vec<u8> = (0..TOKEN_LEN / 2)
        .map(|i| u8::from_str_radix(&token[2 * i..2 * i + 2], 16).expect("hex checked"))
        .collect();
    let (bytes, tag) = raw.split_at(CLAIM_BYTES);
    let mut mac = mac(token_key);
    mac.update(bytes);
    mac.verify_truncated_left(tag)
        .map_err(|_| TokenError::BadSignature)?;
    let expires = u64::from_be_bytes(bytes[6..14].try_into().expect("8 bytes"));
    let claims = SessionClaims {
        session: u32::from_be_bytes(bytes[0..4].try_into().expect("4 bytes")),
        title_id: u16::from_be_bytes(bytes[4..6].try_into().expect("2 bytes")),
        expires: (expires != 0).then_some(expires),
    };
    if claims.expires.is_some_and(|e| now >= e) {
        return Err(TokenError::Expired);
    }
    Ok(claims)
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_only_unaltered_under_their_key_and_before_expiry() {
        let key = Key::from_bytes([3; 32]);
        let claims = SessionClaims {
            session: 0xdead_beef,
            title_id: 7,
            expires: Some(2_000_000_000),
        };
        let token = issue(&key, &claims);
        assert_eq!(token.len(), TOKEN_LEN);
        assert_eq!(verify(&key, &token, 1_900_000_000), Ok(claims));
        assert_eq!(
            verify(&key, &token, 2_000_000_000),
            Err(TokenError::Expired)
        );
        assert_eq!(
            verify(&Key::from_bytes([4; 32]), &token, 0),
            Err(TokenError::BadSignature)
        );
        let mut altered = token.clone().into_bytes();
        altered[7] = if altered[7] == b'0' { b'1' } else { b'0' };
        let altered = String::from_utf8(altered).unwrap();
        assert_eq!(verify(&key, &altered, 0), Err(TokenError::BadSignature));
        for bad in [
            "",
            "zz",
            &token[1..],
            &token.to_uppercase(),
            "../../etc/passwd",
        ] {
            assert_eq!(verify(&key, bad, 0), Err(TokenError::Malformed));
        }
        let forever = SessionClaims {
            expires: None,
            ..claims
        };
        assert_eq!(verify(&key, &issue(&key, &forever), u64::MAX), Ok(forever));
    }
}

/// A session opened on a package: its claims, token and ledger entry.
#[derive(Debug, Clone)]
pub struct OpenedSession {
    /// What the token grants: session, title, expiry.
    pub claims: SessionClaims,
    /// The session's token ([`TOKEN_LEN`] hex digits), for the viewer's player.
    pub token: String,
    /// The entry recorded in the ledger for this session.
    pub entry: crate::ledger::LedgerEntry,
}

/// Opens a session on `package` for `label` (a new random session ID unless `session` is
/// given), valid for `valid_for` seconds (forever when `None`): records it in `ledger` and
/// issues its token under `token_key`. The ledger's `output_sha256` is the SHA-256 of the
/// variant sequence the session is served (`a`/`b` per position), so the entry commits to
/// exactly what was streamed without revealing it.
pub fn open_session(
    package: &crate::twostep::Package,
    key: &Key,
    token_key: &Key,
    ledger: &std::path::Path,
    label: Option<&str>,
    session: Option<u32>,
    valid_for: Option<u64>,
) -> crate::Result<OpenedSession> {
    open(
        package, key, token_key, ledger, label, session, valid_for, None,
    )
}

/// [`open_session`] for a live session: rendered for the viewer as they watch
/// (`filigree serve --live`), every frame with `render`'s overlay and the full single-step
/// mark of the session ID. The entry's `output_sha256` is the SHA-256 of `render` as JSON.
#[allow(clippy::too_many_arguments)]
pub fn open_live_session(
    package: &crate::twostep::Package,
    key: &Key,
    token_key: &Key,
    ledger: &std::path::Path,
    label: Option<&str>,
    session: Option<u32>,
    valid_for: Option<u64>,
    render: crate::ledger::LiveRender,
) -> crate::Result<OpenedSession> {
    open(
        package,
        key,
        token_key,
        ledger,
        label,
        session,
        valid_for,
        Some(render),
    )
}

#[allow(clippy::too_many_arguments)]
fn open(
    package: &crate::twostep::Package,
    key: &Key,
    token_key: &Key,
    ledger: &std::path::Path,
    label: Option<&str>,
    session: Option<u32>,
    valid_for: Option<u64>,
    live: Option<crate::ledger::LiveRender>,
) -> crate::Result<OpenedSession> {
    use sha2::Digest;
    if token_key == key {
        return Err(crate::error::PackageError::Invalid {
            path: package.root().to_path_buf(),
            reason: "the token key must not be the marking key".into(),
        }
        .into());
    }
    let code = package.session_code(key)?;
    let manifest = package.manifest();
    let session = match session {
        Some(id) => id,
        None => loop {
            let mut bytes = [0u8; 4];
            getrandom::fill(&mut bytes).map_err(|e| crate::Error::Random(e.to_string()))?;
            let id = u32::from_le_bytes(bytes);
            // A live session's ID is marked as a single-step recipient: it must not be
            // one already issued as a file copy either.
            let taken = ledger.exists()
                && (crate::ledger::find_session(
                    ledger,
                    manifest.title_id,
                    id,
                    &key.fingerprint(),
                )?
                .is_some()
                    || (live.is_some()
                        && crate::ledger::find_recipient(ledger, id as u64, &key.fingerprint())?
                            .is_some()));
            if !taken {
                break id;
            }
        },
    };
    let expires = valid_for.map(|s| unix_now().saturating_add(s));
    let claims = SessionClaims {
        session,
        title_id: manifest.title_id,
        expires,
    };
    // What the entry commits to: the variant sequence served, or the live rendering.
    let served: String = match &live {
        Some(render) => serde_json::to_string(render).expect("strings serialise"),
        None => (0..manifest.positions())
            .map(|p| code.variant(session, p).folder())
            .collect(),
    };
    let entry_session = crate::ledger::SessionEntry {
        title_id: manifest.title_id,
        expires: expires.map(|e| {
            humantime::format_rfc3339_seconds(UNIX_EPOCH + std::time::Duration::from_secs(e))
                .to_string()
        }),
        live,
    };
    let pattern_sha256: String = Sha256::digest(served.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let entry = crate::ledger::append(
        ledger,
        &crate::ledger::NewEntry {
            recipient: session as u64,
            label,
            key_fingerprint: &key.fingerprint(),
            input_sha256: &manifest.source_sha256,
            output_sha256: &pattern_sha256,
            session: Some(&entry_session),
        },
    )?;
    Ok(OpenedSession {
        token: issue(token_key, &claims),
        claims,
        entry,
    })
}
