//! Everything the embedder and the detector derive from a key, in one place, so the two
//! can never disagree about the payload format or the chip layout.

use crate::key::{Key, Purpose};
use crate::pattern::ChipLayout;
use crate::payload::PayloadCodec;

/// Recipient IDs are 32 bits in format v1; the codec and layout already handle 64.
pub const RECIPIENT_ID_BITS: usize = 32;

#[derive(Debug, Clone)]
pub struct KeyedScheme {
    pub codec: PayloadCodec,
    pub layout: ChipLayout,
    pub tag_key: [u8; 32],
}

impl KeyedScheme {
    pub fn new(key: &Key) -> KeyedScheme {
        let codec = PayloadCodec::new(RECIPIENT_ID_BITS);
        KeyedScheme {
            layout: ChipLayout::new(key, codec.coded_len()),
            codec,
            tag_key: key.derive(Purpose::IntegrityTag, &[]),
        }
    }
}
