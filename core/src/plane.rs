//! Luma sample types. Filigree works on the luma plane only; callers hand it in as an
//! `ndarray` view (row-major, any stride) of `u8` for 8-bit video or `u16` for 9- to 16-bit.

use crate::error::{Result, VideoError};

/// A luma sample: `u8` (8-bit video) or `u16` (10-bit and other high-bit-depth video).
pub trait Sample: Copy + Send + Sync + 'static {
    /// Largest bit depth this sample type can hold.
    const MAX_BIT_DEPTH: u8;
    /// The sample's code value as a float, unscaled.
    fn to_f32(self) -> f32;
    /// Clamps into `0..=max` and rounds to nearest (halves up). Written as `+ 0.5` and a
    /// truncating cast rather than `round()`, which is a library call on baseline x86-64 and
    /// kept the embedding loop from vectorising; the GPU path uses the same rule.
    fn from_f32_clamped(value: f32, max: f32) -> Self;
}

impl Sample for u8 {
    const MAX_BIT_DEPTH: u8 = 8;
    #[inline]
    fn to_f32(self) -> f32 {
        self as f32
    }
    #[inline]
    fn from_f32_clamped(value: f32, max: f32) -> u8 {
        (value.clamp(0.0, max) + 0.5) as u8
    }
}

impl Sample for u16 {
    const MAX_BIT_DEPTH: u8 = 16;
    #[inline]
    fn to_f32(self) -> f32 {
        self as f32
    }
    #[inline]
    fn from_f32_clamped(value: f32, max: f32) -> u16 {
        (value.clamp(0.0, max) + 0.5) as u16
    }
}

/// Checks that `bit_depth` fits sample type `S` and returns the largest code value.
pub fn max_code_value<S: Sample>(bit_depth: u8) -> Result<f32> {
    let fits = if S::MAX_BIT_DEPTH == 8 {
        bit_depth == 8
    } else {
        (9..=S::MAX_BIT_DEPTH).contains(&bit_depth)
    };
    if !fits {
        return Err(VideoError::UnsupportedBitDepth(bit_depth).into());
    }
    Ok(((1u32 << bit_depth) - 1) as f32)
}

/// Factor from 8-bit code values to `bit_depth` code values (4 for 10-bit).
pub fn code_value_scale(bit_depth: u8) -> f32 {
    (1u32 << (bit_depth - 8)) as f32
}
