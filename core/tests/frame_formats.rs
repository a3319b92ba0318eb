//! Every frame size from 320x180 to 4096x2160 (odd sizes included), 8- and 10-bit planes,
//! and bad input that must be refused with a clear error rather than a panic.

use filigree::{EmbedConfig, Embedder, Error, Key, VideoError, detect_still};
use image::imageops::FilterType;
use ndarray::Array2;

fn key() -> Key {
    Key::from_bytes(*b"filigree frame format tests key!")
}

fn still(name: &str, width: u32, height: u32) -> Array2<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata/stills")
        .join(name);
    let image = image::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let luma = image
        .resize_exact(width, height, FilterType::Triangle)
        .to_luma8();
    Array2::from_shape_vec((height as usize, width as usize), luma.into_raw()).unwrap()
}

fn mark_and_detect(name: &str, width: u32, height: u32) {
    let mut luma = still(name, width, height);
    let recipient = 0x5A5A_0001 ^ (width << 12) ^ height;
    let mut embedder = Embedder::new(
        &key(),
        recipient,
        width as usize,
        height as usize,
        &EmbedConfig::default(),
    )
    .unwrap();
    embedder.mark(luma.view_mut(), 8).unwrap();
    let detection = detect_still(luma.view(), 8, &key()).unwrap();
    println!("{name} {width}x{height}: {detection:?}");
    assert_eq!(
        detection.recipient,
        Some(recipient),
        "{name} {width}x{height}"
    );
    assert!(detection.false_positive_probability.unwrap() <= 1e-9);
}

#[test]
fn a_single_marked_frame_is_detected_at_every_size() {
    for (name, width, height) in [
        ("chelsea.png", 320, 180),
        ("chelsea.png", 451, 300),
        ("rocket.jpg", 640, 427),
        ("astronaut.png", 1001, 563),
        ("rocket.jpg", 1920, 1080),
        ("astronaut.png", 360, 640),
        ("astronaut.png", 4096, 2160),
    ] {
        mark_and_detect(name, width, height);
    }
}

#[test]
fn ten_bit_planes_are_marked_at_the_same_visual_strength_and_detected() {
    let eight = still("astronaut.png", 640, 360);
    let ten: Array2<u16> = eight.mapv(|v| v as u16 * 4);
    let mut marked8 = eight.clone();
    let mut marked10 = ten.clone();
    let config = EmbedConfig::default();
    Embedder::new(&key(), 77, 640, 360, &config)
        .unwrap()
        .mark(marked8.view_mut(), 8)
        .unwrap();
    Embedder::new(&key(), 77, 640, 360, &config)
        .unwrap()
        .mark(marked10.view_mut(), 10)
        .unwrap();
    let psnr8 = filigree::metrics::psnr(eight.view(), marked8.view(), 8);
    let psnr10 = filigree::metrics::psnr(ten.view(), marked10.view(), 10);
    println!("PSNR 8-bit {psnr8:.2} dB, 10-bit {psnr10:.2} dB");
    // Same mark in 8-bit units; 10-bit rounds four times finer, so it is slightly cleaner.
    assert!((psnr8 - psnr10).abs() < 0.5, "{psnr8} vs {psnr10}");
    assert_eq!(
        detect_still(marked10.view(), 10, &key()).unwrap().recipient,
        Some(77)
    );
}

#[test]
fn bad_input_gets_a_clear_error() {
    let config = EmbedConfig::default();
    let too_small = Embedder::new(&key(), 1, 320, 120, &config).unwrap_err();
    assert!(
        matches!(too_small, Error::Video(VideoError::FrameTooSmall { .. })),
        "{too_small}"
    );
    assert!(too_small.to_string().contains("320x120"));

    for strength in [0.0, -1.0, f32::NAN, f32::INFINITY, 100.0] {
        let err = Embedder::new(&key(), 1, 320, 180, &EmbedConfig { strength }).unwrap_err();
        assert!(matches!(err, Error::InvalidStrength(_)), "{err}");
    }

    let mut embedder = Embedder::new(&key(), 1, 320, 180, &config).unwrap();
    let mut other_size = Array2::<u8>::zeros((180, 322));
    let err = embedder.mark(other_size.view_mut(), 8).unwrap_err();
    assert!(
        matches!(err, Error::Video(VideoError::FrameSizeChanged { .. })),
        "{err}"
    );
    let mut plane = Array2::<u8>::zeros((180, 320));
    assert!(matches!(
        embedder.mark(plane.view_mut(), 10),
        Err(Error::Video(VideoError::UnsupportedBitDepth(10)))
    ));
    let mut wide = Array2::<u16>::zeros((180, 320));
    assert!(matches!(
        embedder.mark(wide.view_mut(), 8),
        Err(Error::Video(VideoError::UnsupportedBitDepth(8)))
    ));

    let mut detector = filigree::Detector::new();
    assert!(
        detector
            .add_luma(Array2::<u8>::zeros((8, 8)).view(), 8)
            .is_err()
    );
    detector
        .add_luma(Array2::<u8>::zeros((64, 64)).view(), 8)
        .unwrap();
    assert!(matches!(
        detector.add_luma(Array2::<u8>::zeros((64, 66)).view(), 8),
        Err(Error::Video(VideoError::FrameSizeChanged { .. }))
    ));
    let empty = filigree::Detector::new().detect(&key());
    assert_eq!((empty.recipient, empty.frames_used), (None, 0));
}

#[test]
fn flat_black_and_white_frames_do_not_panic_or_accuse() {
    for value in [0u8, 16, 128, 235, 255] {
        let mut plane = Array2::<u8>::from_elem((360, 640), value);
        Embedder::new(&key(), 3, 640, 360, &EmbedConfig::default())
            .unwrap()
            .mark(plane.view_mut(), 8)
            .unwrap();
        let unmarked = Array2::<u8>::from_elem((360, 640), value);
        let detection = detect_still(unmarked.view(), 8, &key()).unwrap();
        assert_eq!(detection.recipient, None, "flat {value}");
        assert!(detection.sync_z.is_finite());
    }
}

#[test]
fn detectors_merged_from_threads_equal_one_detector() {
    let frames: Vec<Array2<u8>> = ["chelsea.png", "rocket.jpg", "astronaut.png"]
        .iter()
        .map(|name| {
            let mut luma = still(name, 640, 360);
            Embedder::new(&key(), 31, 640, 360, &EmbedConfig::default())
                .unwrap()
                .mark(luma.view_mut(), 8)
                .unwrap();
            luma
        })
        .collect();
    let mut single = filigree::Detector::new();
    frames
        .iter()
        .for_each(|f| single.add_luma(f.view(), 8).unwrap());
    let mut merged = filigree::Detector::new();
    let mut other = filigree::Detector::new();
    merged.add_luma(frames[0].view(), 8).unwrap();
    other.add_luma(frames[1].view(), 8).unwrap();
    other.add_luma(frames[2].view(), 8).unwrap();
    merged.merge(other).unwrap();
    merged.merge(filigree::Detector::new()).unwrap();
    let (a, b) = (single.detect(&key()), merged.detect(&key()));
    assert_eq!(a.recipient, Some(31));
    assert_eq!((a.recipient, a.frames_used), (b.recipient, b.frames_used));
    assert!(
        (a.sync_z - b.sync_z).abs() < 1e-3,
        "{} vs {}",
        a.sync_z,
        b.sync_z
    );

    let mut small = filigree::Detector::new();
    small
        .add_luma(Array2::<u8>::zeros((64, 64)).view(), 8)
        .unwrap();
    assert!(matches!(
        merged.merge(small),
        Err(Error::Video(VideoError::FrameSizeChanged { .. }))
    ));
}
