//! The variant mark and the session code: what each variant of a two-step position carries
//! in its frames ([`VariantMark`]), and the outer code that spells a session in A and B
//! positions and solves it back from reads ([`code`]). Pure maths under the key, below the
//! scheme and the detector; packaging them into titles is `crate::twostep`.

pub mod code;

pub use code::{PositionRead, SessionCode, SessionDecode};

/// Bits of a [`VariantMark`]: variant (1), position index (21), title ID (10).
const POSITION_BITS: u32 = 21;
const TITLE_BITS: u32 = 10;

/// Most positions a title can have: 2^21 (48 days of 2 s positions).
pub const MAX_POSITIONS: u32 = 1 << POSITION_BITS;

/// Largest title ID: titles under one key are told apart by a 10-bit ID.
pub const MAX_TITLE_ID: u16 = (1 << TITLE_BITS) - 1;

/// One of the two versions every position is encoded in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Variant {
    /// The version served at a position when the session's code symbol is 0 (folder `a`).
    A,
    /// The version served at a position when the session's code symbol is 1 (folder `b`).
    B,
}

impl Variant {
    /// Both variants, A first: the order segments are prepared and recorded in.
    pub const BOTH: [Variant; 2] = [Variant::A, Variant::B];

    /// The DASH-IF folder name: `a` or `b`.
    pub fn folder(self) -> &'static str {
        match self {
            Variant::A => "a",
            Variant::B => "b",
        }
    }

    /// 0 for A, 1 for B (the WMPaceInfo variant number).
    pub fn bit(self) -> bool {
        self == Variant::B
    }

    /// The variant of a WMPaceInfo variant number: A for 0 (`false`), B for 1.
    pub fn from_bit(bit: bool) -> Variant {
        if bit { Variant::B } else { Variant::A }
    }
}

/// What the frames of one variant of one position carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VariantMark {
    /// The title's ID (0 ..= [`MAX_TITLE_ID`]), 10 bits.
    pub title: u16,
    /// Index of the position in the title, from 0 (below [`MAX_POSITIONS`]), 21 bits.
    pub position: u32,
    /// Which of the position's two versions these frames are.
    pub variant: Variant,
}

impl VariantMark {
    /// # Panics
    ///
    /// If the title or position does not fit ([`MAX_TITLE_ID`], [`MAX_POSITIONS`]):
    /// truncating would mark the wrong position.
    pub fn new(title: u16, position: u32, variant: Variant) -> VariantMark {
        assert!(
            title <= MAX_TITLE_ID,
            "title ID {title} exceeds {MAX_TITLE_ID}"
        );
        assert!(
            position < MAX_POSITIONS,
            "position {position} exceeds {MAX_POSITIONS}"
        );
        VariantMark {
            title,
            position,
            variant,
        }
    }

    /// The 32-bit payload: variant in bit 0, position in bits 1..22, title in 22..32.
    pub fn to_bits(self) -> u32 {
        self.variant.bit() as u32 | self.position << 1 | (self.title as u32) << (1 + POSITION_BITS)
    }

    /// The mark a 32-bit payload spells (the inverse of [`VariantMark::to_bits`]); any bits decode.
    pub fn from_bits(bits: u32) -> VariantMark {
        VariantMark {
            variant: Variant::from_bit(bits & 1 == 1),
            position: (bits >> 1) & (MAX_POSITIONS - 1),
            title: (bits >> (1 + POSITION_BITS)) as u16,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variant_marks_round_trip_through_their_bits() {
        for mark in [
            VariantMark::new(0, 0, Variant::A),
            VariantMark::new(MAX_TITLE_ID, MAX_POSITIONS - 1, Variant::B),
            VariantMark::new(7, 12345, Variant::B),
        ] {
            assert_eq!(VariantMark::from_bits(mark.to_bits()), mark);
        }
    }
}
