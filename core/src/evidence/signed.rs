//! Signed JSON objects: an object carries a `signature` member whose Ed25519 signature is
//! over the RFC 8785 canonical form of the object without that member.
//!
//! ```text
//! "signature": {
//!   "algorithm": "Ed25519",
//!   "canonicalization": "RFC 8785 (JCS) of the object without its signature member",
//!   "public_key": "<64 hex digits>",
//!   "key_fingerprint": "<16 hex digits>",
//!   "payload_sha256": "<SHA-256 of the canonical bytes>",
//!   "value": "<128 hex digits>"
//! }
//! ```
//!
//! The signed bytes are the canonical text itself, so anyone can check a signature with
//! standard tools (a JCS canonicaliser and an Ed25519 verifier) without Filigree.

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::jcs::canonicalize_without;
use super::key::{ALGORITHM, EvidenceKey, fingerprint_of, verify};
use crate::digest::{hex, unhex};

/// Name of the member that holds the signature block.
pub const SIGNATURE_MEMBER: &str = "signature";

/// What the `canonicalization` field of a signature block says.
pub const CANONICALIZATION: &str = "RFC 8785 (JCS) of the object without its signature member";

/// Signs `object` in place: adds (or replaces) its `signature` member. Fails when the object
/// has no canonical form (a number JSON cannot hold exactly).
pub fn sign_object(
    object: &mut Map<String, Value>,
    key: &EvidenceKey,
) -> std::result::Result<(), String> {
    let payload = canonicalize_without(object, SIGNATURE_MEMBER)?;
    let block = json!({
        "algorithm": ALGORITHM,
        "canonicalization": CANONICALIZATION,
        "public_key": key.public_key(),
        "key_fingerprint": key.fingerprint(),
        "payload_sha256": hex(&Sha256::digest(payload.as_bytes())),
        "value": key.sign(payload.as_bytes()),
    });
    object.insert(SIGNATURE_MEMBER.into(), block);
    Ok(())
}

/// What checking an object's signature found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureCheck {
    /// The object carries no signature block.
    Unsigned,
    /// The signature is good: the object is exactly what the key with this fingerprint
    /// signed.
    Valid {
        /// The signer's public key, hex.
        public_key: String,
        /// Its fingerprint ([`fingerprint_of`]).
        key_fingerprint: String,
    },
    /// The signature does not hold; why.
    Invalid(String),
}

impl SignatureCheck {
    /// True for [`SignatureCheck::Valid`].
    pub fn is_valid(&self) -> bool {
        matches!(self, SignatureCheck::Valid { .. })
    }

    /// The signer's fingerprint when the signature is valid.
    pub fn signer(&self) -> Option<&str> {
        match self {
            SignatureCheck::Valid {
                key_fingerprint, ..
            } => Some(key_fingerprint),
            _ => None,
        }
    }
}

/// Checks `value`'s signature block. With `expected_signer`, a valid signature by any other
/// key fingerprint is [`SignatureCheck::Invalid`] too.
pub fn verify_object(value: &Value, expected_signer: Option<&str>) -> SignatureCheck {
    let Some(object) = value.as_object() else {
        return SignatureCheck::Invalid("not a JSON object".into());
    };
    let Some(block) = object.get(SIGNATURE_MEMBER) else {
        return SignatureCheck::Unsigned;
    };
    let field = |name: &str| block.get(name).and_then(Value::as_str).unwrap_or_default();
    if field("algorithm") != ALGORITHM {
        return SignatureCheck::Invalid(format!(
            "unknown signature algorithm {:?}",
            field("algorithm")
        ));
    }
    let public_key = field("public_key");
    let Some(key_bytes) = unhex::<32>(public_key) else {
        return SignatureCheck::Invalid("the public key is not 64 hex digits".into());
    };
    let key_fingerprint = fingerprint_of(&key_bytes);
    if field("key_fingerprint") != key_fingerprint {
        return SignatureCheck::Invalid(
            "the key fingerprint does not belong to the public key".into(),
        );
    }
    let payload = match canonicalize_without(object, SIGNATURE_MEMBER) {
        Ok(payload) => payload,
        Err(reason) => return SignatureCheck::Invalid(format!("no canonical form: {reason}")),
    };
    if field("payload_sha256") != hex(&Sha256::digest(payload.as_bytes())) {
        return SignatureCheck::Invalid(
            "the content changed after signing (its SHA-256 is not the signed one)".into(),
        );
    }
    if let Err(reason) = verify(public_key, payload.as_bytes(), field("value")) {
        return SignatureCheck::Invalid(reason);
    }
    if let Some(expected) = expected_signer
        && expected != key_fingerprint
    {
        return SignatureCheck::Invalid(format!(
            "signed by evidence key {key_fingerprint}, not the expected {expected}"
        ));
    }
    SignatureCheck::Valid {
        public_key: public_key.to_lowercase(),
        key_fingerprint,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_change_breaks_the_signature_and_reformatting_does_not() {
        let key = EvidenceKey::from_seed([7; 32]);
        let mut object = json!({"b": [1.5, "x"], "a": 1e-50, "n": 42})
            .as_object()
            .unwrap()
            .clone();
        sign_object(&mut object, &key).unwrap();
        let signed = Value::Object(object);
        let check = verify_object(&signed, None);
        assert_eq!(check.signer(), Some(key.fingerprint().as_str()));
        // Pretty-printed and parsed back: the same canonical bytes.
        let reparsed: Value =
            serde_json::from_str(&serde_json::to_string_pretty(&signed).unwrap()).unwrap();
        assert!(verify_object(&reparsed, None).is_valid());
        let mut edited = signed.clone();
        edited["n"] = json!(43);
        assert!(matches!(
            verify_object(&edited, None),
            SignatureCheck::Invalid(_)
        ));
        let mut stripped = signed.clone();
        stripped.as_object_mut().unwrap().remove(SIGNATURE_MEMBER);
        assert_eq!(verify_object(&stripped, None), SignatureCheck::Unsigned);
        assert!(matches!(
            verify_object(&signed, Some("0000000000000000")),
            SignatureCheck::Invalid(_)
        ));
        // A re-signing with another key is valid, but by another signer.
        let mut forged = signed.as_object().unwrap().clone();
        forged.insert("n".into(), json!(43));
        sign_object(&mut forged, &EvidenceKey::from_seed([8; 32])).unwrap();
        let forged = Value::Object(forged);
        assert_ne!(
            verify_object(&forged, None).signer(),
            Some(key.fingerprint().as_str())
        );
        assert!(!verify_object(&forged, Some(&key.fingerprint())).is_valid());
    }
}
