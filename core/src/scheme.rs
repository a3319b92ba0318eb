//! Everything the embedder and the detector derive from a key, in one place, so the two
//! can never disagree about the payload format or the chip layout.

use crate::key::{Key, Purpose};
use crate::pattern::ChipLayout;
use crate::payload::PayloadCodec;
use crate::variant::VariantMark;

/// Recipient IDs are 32 bits in format v1; the codec and layout already handle 64.
pub(crate) const RECIPIENT_ID_BITS: usize = 32;

/// What one frame's mark carries: a recipient's ID (single-step, the whole copy is theirs)
/// or a two-step variant mark (one position of a shared A/B package). Both use the same
/// sync pattern and payload code; their tags are keyed apart, so a decode says which kind
/// it found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload {
    /// A single-step copy: the recipient's 32-bit ID.
    Recipient(u32),
    /// A two-step position: title, position and variant.
    Variant(VariantMark),
}

#[derive(Debug, Clone)]
pub(crate) struct KeyedScheme {
    pub codec: PayloadCodec,
    pub layout: ChipLayout,
    pub tag_key: [u8; 32],
    pub variant_tag_key: [u8; 32],
}

impl KeyedScheme {
    pub(crate) fn new(key: &Key) -> KeyedScheme {
        let codec = PayloadCodec::new(RECIPIENT_ID_BITS);
        KeyedScheme {
            layout: ChipLayout::new(key, codec.coded_len()),
            codec,
            tag_key: key.derive(Purpose::IntegrityTag, &[]),
            variant_tag_key: key.derive(Purpose::VariantTag, &[]),
        }
    }

    /// The coded bits of `payload`, tagged with its kind's tag key.
    pub(crate) fn encode(&self, payload: Payload) -> Vec<bool> {
        match payload {
            Payload::Recipient(id) => self.codec.encode(&self.tag_key, id as u64),
            Payload::Variant(mark) => self
                .codec
                .encode(&self.variant_tag_key, mark.to_bits() as u64),
        }
    }

    /// The variant mark in decoded information bits, if its tag checks.
    pub(crate) fn verify_variant(&self, bits: &[bool]) -> Option<VariantMark> {
        self.codec
            .verify(&self.variant_tag_key, bits)
            .map(|bits| VariantMark::from_bits(bits as u32))
    }
}
