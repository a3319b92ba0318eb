//! CDN-edge tokens: CBOR Web Tokens carrying the DASH-IF / ETSI TS 104 002 watermarking
//! claims in *direct mode*, so that any number of stateless edges pick each position's
//! variant from the token alone, holding neither the marking key nor the token key.
//!
//! A token is base64url (no padding) of a CWT (RFC 8392, CBOR tag 61) around a COSE_Mac0
//! (RFC 9052, HMAC 256/256) over the claims:
//!
//! | claim | label | value |
//! |---|---|---|
//! | `sub` | 2 | the session ID, 8 hex digits (the player shows it) |
//! | `exp`, `iat` | 4, 6 | expiry and issue time, Unix seconds (both mandatory) |
//! | `wmver` | 300 | 1 |
//! | `wmvnd` | 301 | [`VENDOR`] |
//! | `wmpatlen` | 302 | pattern length in bits: the title's positions |
//! | `wmsegduration` | 303 | `[numerator, denominator]`: a position's seconds |
//! | `wmpattern` | 304 | COSE_Encrypt0 (A256GCM) of the pattern: bit *p* (big-endian within each byte, bit 0 the most significant of byte 0) is the variant of position *p*, 0 = A, 1 = B |
//! | title | [`TITLE_CLAIM`] | the title ID (a private claim) |
//!
//! The MAC and the pattern's encryption use their own subkeys of the token key
//! ([`EdgeKeys`]): an edge holds those two, checks the MAC, decrypts the pattern, reads the
//! requested segment's position from WMPaceInfo and rewrites the path to `a/` or `b/`
//! (`server/edge/filigree-edge.js`). The encryption's nonce is synthetic (a MAC of the
//! title, session and pattern), so one pattern always encrypts alike and two patterns never
//! share a nonce.
//!
//! Indirect mode (`wmid` + `wmopid`: the edge derives the pattern from an ID) would put the
//! session code's key at every edge; direct mode keeps it at the issuer.

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use coset::cbor::Value;
use coset::{
    CborSerializable, CoseEncrypt0, CoseEncrypt0Builder, CoseMac0, CoseMac0Builder, HeaderBuilder,
    TaggedCborSerializable, iana,
};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::key::{Key, Purpose};
use crate::twostep::Package;
use crate::twostep::session::{SessionClaims, TokenError};
use crate::variant::{SessionCode, Variant};

/// `wmver`: the version of the watermarking claims.
pub const WMVER: u64 = 1;
/// `wmvnd`: Filigree's vendor code (not registered anywhere; edges compare it).
pub const VENDOR: u64 = 0x4647;
/// Private claim label of the title ID.
pub const TITLE_CLAIM: i64 = -65_537;
// Claim labels: RFC 8392's, then ETSI TS 104 002's.
const SUB_CLAIM: i64 = 2;
const EXP_CLAIM: i64 = 4;
const IAT_CLAIM: i64 = 6;
const WMVER_CLAIM: i64 = 300;
const WMVND_CLAIM: i64 = 301;
const WMPATLEN_CLAIM: i64 = 302;
const WMSEGDURATION_CLAIM: i64 = 303;
const WMPATTERN_CLAIM: i64 = 304;
/// CBOR tag of a CWT (RFC 8392), as its two encoded bytes.
const CWT_TAG: [u8; 2] = [0xd8, 0x3d];
/// Longest token accepted, in characters (a 4-hour title at 1 s positions fits).
pub const MAX_TOKEN_LEN: usize = 4096;

/// The edge's two secrets, derived from the token key.
#[derive(Clone, PartialEq, Eq)]
pub struct EdgeKeys {
    /// HMAC-SHA256 key of the token's COSE_Mac0.
    pub mac: [u8; 32],
    /// AES-256-GCM key of the pattern's COSE_Encrypt0.
    pub pattern: [u8; 32],
}

impl EdgeKeys {
    /// The edge subkeys of `token_key`.
    pub fn of(token_key: &Key) -> EdgeKeys {
        EdgeKeys {
            mac: token_key.derive(Purpose::EdgeTokenMac, &[]),
            pattern: token_key.derive(Purpose::EdgePattern, &[]),
        }
    }

    fn hmac(&self) -> Hmac<Sha256> {
        <Hmac<Sha256> as KeyInit>::new_from_slice(&self.mac).expect("HMAC takes any key length")
    }
}

impl std::fmt::Debug for EdgeKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EdgeKeys(..)")
    }
}

/// What an edge token grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeClaims {
    /// The session ID (shown to the viewer; detection recovers it).
    pub session: u32,
    /// The title the token plays.
    pub title_id: u16,
    /// Unix seconds when the token was issued.
    pub issued: u64,
    /// Unix seconds from which the token is refused.
    pub expires: u64,
    /// A position's duration in seconds, as `(numerator, denominator)`.
    pub segment_duration: (u64, u64),
    /// The variant each position serves, position 0 first (`wmpatlen` = its length).
    pub pattern: Vec<Variant>,
}

impl EdgeClaims {
    /// The edge claims of a session opened on `package` (`claims` from
    /// [`open_session`](crate::twostep::session::open_session)), issued at `issued`: the
    /// variant of every position under `code`. `None` for a session without expiry: a CDN
    /// token must expire (ETSI TS 104 002).
    pub fn for_session(
        package: &Package,
        code: &SessionCode,
        claims: &SessionClaims,
        issued: u64,
    ) -> Option<EdgeClaims> {
        let m = package.manifest();
        // A position's seconds: position_frames / (num / den), reduced.
        let (mut num, mut den) = (
            m.position_frames * m.frame_rate_den as u64,
            m.frame_rate_num as u64,
        );
        let (mut a, mut b) = (num, den);
        while b != 0 {
            (a, b) = (b, a % b);
        }
        if a > 1 {
            (num, den) = (num / a, den / a);
        }
        Some(EdgeClaims {
            session: claims.session,
            title_id: claims.title_id,
            issued,
            expires: claims.expires?,
            segment_duration: (num, den),
            pattern: (0..m.positions())
                .map(|p| code.variant(claims.session, p))
                .collect(),
        })
    }
}

/// The pattern's bits, big-endian within each byte, B = 1.
fn pack(pattern: &[Variant]) -> Vec<u8> {
    let mut bytes = vec![0u8; pattern.len().div_ceil(8)];
    for (p, v) in pattern.iter().enumerate() {
        if *v == Variant::B {
            bytes[p / 8] |= 0x80 >> (p % 8);
        }
    }
    bytes
}

fn unpack(bytes: &[u8], bits: usize) -> Vec<Variant> {
    (0..bits)
        .map(|p| match bytes[p / 8] & (0x80 >> (p % 8)) {
            0 => Variant::A,
            _ => Variant::B,
        })
        .collect()
}

fn cipher(keys: &EdgeKeys) -> Aes256Gcm {
    Aes256Gcm::new_from_slice(&keys.pattern).expect("a 32-byte key")
}

/// The token for `claims` under `keys` (base64url, no padding).
pub fn issue(keys: &EdgeKeys, claims: &EdgeClaims) -> String {
    let plain = pack(&claims.pattern);
    let mut synthetic = keys.hmac();
    synthetic.update(b"wmpattern nonce");
    synthetic.update(&claims.title_id.to_be_bytes());
    synthetic.update(&claims.session.to_be_bytes());
    synthetic.update(&(claims.pattern.len() as u64).to_be_bytes());
    synthetic.update(&plain);
    let iv = synthetic.finalize().into_bytes()[..12].to_vec();
    let nonce = Nonce::try_from(&iv[..]).expect("12 bytes");
    let pattern = CoseEncrypt0Builder::new()
        .protected(
            HeaderBuilder::new()
                .algorithm(iana::Algorithm::A256GCM)
                .build(),
        )
        .unprotected(HeaderBuilder::new().iv(iv.clone()).build())
        .create_ciphertext(&plain, &[], |msg, aad| {
            cipher(keys)
                .encrypt(&nonce, Payload { msg, aad })
                .expect("AES-GCM encrypts any length")
        })
        .build()
        .to_vec()
        .expect("COSE encodes");
    let int = |n: u64| Value::Integer(n.into());
    let claims_map = Value::Map(
        [
            (SUB_CLAIM, Value::Text(format!("{:08x}", claims.session))),
            (EXP_CLAIM, int(claims.expires)),
            (IAT_CLAIM, int(claims.issued)),
            (WMVER_CLAIM, int(WMVER)),
            (WMVND_CLAIM, int(VENDOR)),
            (WMPATLEN_CLAIM, int(claims.pattern.len() as u64)),
            (
                WMSEGDURATION_CLAIM,
                Value::Array(vec![
                    int(claims.segment_duration.0),
                    int(claims.segment_duration.1),
                ]),
            ),
            (WMPATTERN_CLAIM, Value::Bytes(pattern)),
            (TITLE_CLAIM, int(claims.title_id as u64)),
        ]
        .into_iter()
        .map(|(label, value)| (Value::Integer(label.into()), value))
        .collect(),
    );
    let mut set = Vec::new();
    coset::cbor::into_writer(&claims_map, &mut set).expect("claims encode");
    let mac0 = CoseMac0Builder::new()
        .protected(
            HeaderBuilder::new()
                .algorithm(iana::Algorithm::HMAC_256_256)
                .build(),
        )
        .payload(set)
        .create_tag(&[], |data| {
            let mut mac = keys.hmac();
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        })
        .build()
        .to_tagged_vec()
        .expect("COSE encodes");
    URL_SAFE_NO_PAD.encode([&CWT_TAG[..], &mac0].concat())
}

/// The claims of `token` if it is a well-formed Filigree edge token, its MAC verifies under
/// `keys`, its pattern decrypts and it has not expired at `now` (Unix seconds). What the
/// edge script checks, for tests and tools.
pub fn verify(keys: &EdgeKeys, token: &str, now: u64) -> Result<EdgeClaims, TokenError> {
    use TokenError::{BadSignature, Expired, Malformed};
    if token.len() > MAX_TOKEN_LEN {
        return Err(Malformed);
    }
    let raw = URL_SAFE_NO_PAD.decode(token).map_err(|_| Malformed)?;
    let body = raw.strip_prefix(&CWT_TAG[..]).ok_or(Malformed)?;
    let mac0 = CoseMac0::from_tagged_slice(body).map_err(|_| Malformed)?;
    if mac0.protected.header.alg != Some(coset::Algorithm::Assigned(iana::Algorithm::HMAC_256_256))
    {
        return Err(Malformed);
    }
    mac0.verify_payload_tag(
        &[],
        || (),
        |tag, data| {
            let mut mac = keys.hmac();
            mac.update(data);
            mac.verify_slice(tag).map_err(|_| ())
        },
    )
    .map_err(|_| BadSignature)?;
    let payload = mac0.payload.as_deref().ok_or(Malformed)?;
    let set: Value = coset::cbor::from_reader(payload).map_err(|_| Malformed)?;
    let claims = read_claims(keys, &set).ok_or(Malformed)?;
    if now >= claims.expires {
        return Err(Expired);
    }
    Ok(claims)
}

/// The claims of a verified claims set; `None` when one is missing or of the wrong type.
fn read_claims(keys: &EdgeKeys, set: &Value) -> Option<EdgeClaims> {
    let claims = set.as_map()?;
    let claim = |label: i64| {
        claims
            .iter()
            .find_map(|(name, value)| (name.as_integer() == Some(label.into())).then_some(value))
    };
    let number = |value: &Value| value.as_integer().and_then(|i| u64::try_from(i).ok());
    let uint = |label: i64| claim(label).and_then(number);
    if uint(WMVER_CLAIM)? != WMVER || uint(WMVND_CLAIM)? != VENDOR {
        return None;
    }
    let bits = usize::try_from(uint(WMPATLEN_CLAIM)?).ok()?;
    let [num, den] = claim(WMSEGDURATION_CLAIM)?.as_array()?.as_slice() else {
        return None;
    };
    let encrypted = CoseEncrypt0::from_slice(claim(WMPATTERN_CLAIM)?.as_bytes()?).ok()?;
    if encrypted.protected.header.alg != Some(coset::Algorithm::Assigned(iana::Algorithm::A256GCM))
    {
        return None;
    }
    let nonce = Nonce::try_from(&encrypted.unprotected.iv[..]).ok()?;
    let plain = encrypted
        .decrypt_ciphertext(
            &[],
            || (),
            |msg, aad| {
                cipher(keys)
                    .decrypt(&nonce, Payload { msg, aad })
                    .map_err(|_| ())
            },
        )
        .ok()?;
    if plain.len() != bits.div_ceil(8) {
        return None;
    }
    let session = claim(SUB_CLAIM)?.as_text()?;
    Some(EdgeClaims {
        session: (session.len() == 8)
            .then(|| u32::from_str_radix(session, 16).ok())
            .flatten()?,
        title_id: u16::try_from(uint(TITLE_CLAIM)?).ok()?,
        issued: uint(IAT_CLAIM)?,
        expires: uint(EXP_CLAIM)?,
        segment_duration: (number(num)?, number(den)?),
        pattern: unpack(&plain, bits),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> EdgeClaims {
        EdgeClaims {
            session: 0x8633_ef3b,
            title_id: 7,
            issued: 1_900_000_000,
            expires: 2_000_000_000,
            segment_duration: (48, 24),
            pattern: (0..65)
                .map(|p| if p % 3 == 1 { Variant::B } else { Variant::A })
                .collect(),
        }
    }

    #[test]
    fn tokens_verify_only_unaltered_under_their_keys_and_before_expiry() {
        let keys = EdgeKeys::of(&Key::from_bytes([3; 32]));
        let token = issue(&keys, &claims());
        assert!(token.len() < 400, "{}", token.len());
        assert_eq!(verify(&keys, &token, 1_950_000_000), Ok(claims()));
        assert_eq!(
            verify(&keys, &token, 2_000_000_000),
            Err(TokenError::Expired)
        );
        let other = EdgeKeys::of(&Key::from_bytes([4; 32]));
        assert_eq!(verify(&other, &token, 0), Err(TokenError::BadSignature));
        // Every single-character change is refused, never read as other claims.
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        for i in 0..token.len() {
            let mut altered = token.clone().into_bytes();
            altered[i] = alphabet
                [(alphabet.iter().position(|&c| c == altered[i]).unwrap() + 1) % alphabet.len()];
            let altered = String::from_utf8(altered).unwrap();
            assert!(verify(&keys, &altered, 0).is_err(), "position {i}");
        }
        for bad in ["", "%%", &token[..token.len() / 2], "../../etc/passwd"] {
            assert_eq!(verify(&keys, bad, 0), Err(TokenError::Malformed));
        }
    }

    #[test]
    fn the_pattern_is_encrypted_and_bit_zero_is_the_first_bytes_top_bit() {
        let keys = EdgeKeys::of(&Key::from_bytes([3; 32]));
        let mut plain = claims();
        assert_eq!(pack(&plain.pattern)[0], 0b0100_1001);
        // Patterns that differ in one position encrypt to unrelated bytes.
        let first = URL_SAFE_NO_PAD.decode(issue(&keys, &plain)).unwrap();
        plain.pattern[0] = Variant::B;
        let second = URL_SAFE_NO_PAD.decode(issue(&keys, &plain)).unwrap();
        let differing = first.iter().zip(&second).filter(|(a, b)| a != b).count();
        assert!(differing > 40, "{differing}");
        let packed = pack(&claims().pattern);
        assert!(
            !first.windows(packed.len()).any(|w| w == packed),
            "the pattern's bytes do not appear in the clear"
        );
    }
}
