//! The WGSL source: `mark.wgsl` behind a prelude of constants taken from the Rust side, so
//! the mask tuning and the tile size have one definition.

use filigree::TILE;
use filigree::mask::{
    ACTIVITY_PER_UNIT_GAIN, CONTENT_CHANGE, MAX_TEXTURE_GAIN, MIN_TEXTURE_GAIN, TEMPORAL_SMOOTHING,
};

/// Shader source for samples of `sample_bits` (8 or 16) bits.
pub(crate) fn source(sample_bits: u32) -> String {
    let float = |name: &str, value: f32| format!("const {name}: f32 = {};\n", wgsl_float(value));
    let mut prelude = format!(
        "const SAMPLE_BITS: u32 = {sample_bits}u;\nconst SAMPLES_PER_WORD: u32 = {}u;\nconst TILE: u32 = {TILE}u;\n",
        32 / sample_bits
    );
    prelude += &float("MIN_TEXTURE_GAIN", MIN_TEXTURE_GAIN);
    prelude += &float("MAX_TEXTURE_GAIN", MAX_TEXTURE_GAIN);
    prelude += &float("ACTIVITY_PER_UNIT_GAIN", ACTIVITY_PER_UNIT_GAIN);
    prelude += &float("TEMPORAL_SMOOTHING", TEMPORAL_SMOOTHING);
    prelude += &float("CONTENT_CHANGE", CONTENT_CHANGE);
    prelude + include_str!("mark.wgsl")
}

/// An f32 literal WGSL reads back to the same value: Rust's shortest round-trip decimal,
/// always with a decimal point or exponent.
fn wgsl_float(value: f32) -> String {
    let text = format!("{value:?}");
    if text.contains(['.', 'e']) {
        text
    } else {
        text + ".0"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_literals_round_trip() {
        for value in [0.45f32, 2.2, 6.0, 0.3, 10.0, 1e-7, 3.0e9] {
            let text = wgsl_float(value);
            assert!(text.contains(['.', 'e']), "{text}");
            assert_eq!(text.parse::<f32>().unwrap(), value);
        }
    }
}
