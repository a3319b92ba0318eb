//! Evidence that stands up: signed statements a third party can check without trusting the
//! machine that made them.
//!
//! - [`EvidenceKey`] (`key.rs`): the studio's Ed25519 evidence key, a file of its own,
//!   never the marking key. Signatures carry only its public half and fingerprint.
//! - [`jcs`]: RFC 8785 canonical JSON, the exact bytes an object signs as.
//! - `signed.rs`: [`sign_object`] adds a `signature` block to a JSON object (an evidence
//!   report's facts, a ledger head); [`verify_object`] checks it.
//! - `head.rs`: signed ledger heads ([`head_statement`], [`record_head`]) and the audit of
//!   a ledger against them ([`audit`], [`check_extends`]): edit, deletion, reordering,
//!   truncation and a consistent rewrite each found and named.
//!
//! Floor: above `ledger`, `digest` and `key`, which it uses; nothing below imports it. Core
//! knows no shell: re-running a detection to reproduce a report is the report crate's.

mod head;
pub mod jcs;
mod key;
mod signed;

pub use head::{
    HEAD_STATEMENT, HeadCheck, HeadOutcome, HeadStatement, LedgerAudit, audit, check_extends,
    head_statement, heads_path, parse_head, record_head,
};
pub use key::{ALGORITHM, EvidenceKey, fingerprint_of, verify};
pub use signed::{CANONICALIZATION, SIGNATURE_MEMBER, SignatureCheck, sign_object, verify_object};
