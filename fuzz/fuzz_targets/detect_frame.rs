//! Arbitrary luma frames (size from the first bytes, samples from the rest) through the
//! detector and the single-frame detector: a result or a clean error, never a panic, and
//! no recipient found under a key that marked nothing.
#![no_main]

use filigree::{Detector, Key, detect_still};
use libfuzzer_sys::fuzz_target;
use ndarray::Array2;

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    // Up to 511 x 511: big enough for every code path (bars, scaling), small enough to be fast.
    let width = 1 + (u16::from_le_bytes([data[0], data[1]]) as usize % 511);
    let height = 1 + (u16::from_le_bytes([data[2], data[3]]) as usize % 511);
    let samples = &data[4..];
    let luma = Array2::from_shape_fn((height, width), |(r, c)| {
        samples
            .get((r * width + c) % samples.len().max(1))
            .copied()
            .unwrap_or(0)
    });
    let key = Key::from_bytes([0x5a; 32]);
    let mut detector = Detector::new();
    for _ in 0..2 {
        if detector.add_luma(luma.view(), 8).is_err() {
            return;
        }
    }
    let found = detector.detect(&key);
    // Content nobody marked: an accusation here would be a false positive (p < 1e-9 each).
    assert_eq!(found.recipient, None, "{found:?}");
    let _ = detect_still(luma.view(), 8, &key);
});
