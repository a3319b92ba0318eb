//! Embedding and detection cost on frames made from a real photograph.
//!
//! Frames come from `testdata/stills/rocket.jpg` (640x427), centre-cropped to 16:9 and resized
//! to 1080p / 2160p luma, so the perceptual mask sees real texture, flat sky and dark areas
//! rather than noise. Figures are single-threaded (`mark`, `add_luma` and `detect` run on the
//! calling thread) except the `_all_threads` ones.
//!
//! Benchmarks:
//! - `embed/1080p`, `embed/2160p`: one `Embedder::mark` per iteration. Each iteration marks a
//!   fresh copy of the unmarked frame (the copy is made outside the timed part by
//!   `iter_batched_ref`), while the embedder keeps its temporal mask state across iterations,
//!   as it would on a static shot. Throughput is one frame per iteration, so criterion
//!   prints frames/s.
//! - `embed/1080p_all_threads`, `embed/2160p_all_threads`: one frame on each of the machine's
//!   threads per iteration, each thread marking its own stream (batch work: many recipients
//!   at once); throughput counts all of them.
//! - `overlay/1080p_corner`, `overlay/1080p_tiled`: `Overlay::apply` on a 4:2:0 frame, the
//!   timecode changing every frame.
//! - `detect/add_frame_1080p`: one `Detector::add_luma` of a marked 1080p frame per
//!   iteration into a single long-lived detector.
//! - `detect/search_and_decode`: `evidence()` + `detect(&key)` on a detector holding 24
//!   marked 1080p frames of a slow pan: what a leak check costs once the frames are in.
//! - `detect/per_key`: `detect(&key)` on prebuilt evidence with the right key; the marginal
//!   cost of testing one more key. `detect/per_key_wrong` does the same with a key that did
//!   not mark the content, the common case when screening a leak against many keys (every
//!   decode candidate is tried and fails).
//!
//! Run with `cargo bench -p filigree-benches`; after the build the run takes under a minute.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use filigree::overlay::{Overlay, OverlayConfig, Position, SessionInfo};
use filigree::video::{PixelFormat, Planes, Rational, VideoFrame};
use filigree::{Detector, EmbedConfig, Embedder, Evidence, Key};
use image::imageops::{self, FilterType};
use ndarray::Array2;

const STILL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/stills/rocket.jpg");

const RECIPIENT: u32 = 42;

/// Frames accumulated before `search_and_decode`: one second of 24 fps video.
const ACCUMULATED_FRAMES: usize = 24;

/// Horizontal and vertical pan per frame (pixels) for the accumulated clip, so the content
/// moves under the fixed mark as in real footage.
const PAN_PER_FRAME: (usize, usize) = (4, 2);

fn key() -> Key {
    Key::from_bytes([7; 32])
}

fn other_key() -> Key {
    Key::from_bytes([8; 32])
}

/// The still as a `width` x `height` luma plane: centre-cropped to the target aspect ratio,
/// then resized (Catmull-Rom) without distortion.
fn still_luma(width: usize, height: usize) -> Array2<u8> {
    let still = image::open(STILL)
        .unwrap_or_else(|e| panic!("cannot open {STILL}: {e}"))
        .to_luma8();
    let (sw, sh) = still.dimensions();
    let target = width as f64 / height as f64;
    let (cw, ch) = if sw as f64 / sh as f64 > target {
        ((sh as f64 * target).round() as u32, sh)
    } else {
        (sw, (sw as f64 / target).round() as u32)
    };
    let cropped = imageops::crop_imm(&still, (sw - cw) / 2, (sh - ch) / 2, cw, ch).to_image();
    let resized = imageops::resize(
        &cropped,
        width as u32,
        height as u32,
        FilterType::CatmullRom,
    );
    Array2::from_shape_vec((height, width), resized.into_raw()).expect("luma buffer shape")
}

/// `count` frames of a slow pan across the still, `width` x `height` each.
fn pan_frames(width: usize, height: usize, count: usize) -> Vec<Array2<u8>> {
    let (dx, dy) = PAN_PER_FRAME;
    let canvas = still_luma(width + dx * count, height + dy * count);
    (0..count)
        .map(|i| {
            canvas
                .slice(ndarray::s![dy * i..dy * i + height, dx * i..dx * i + width])
                .to_owned()
        })
        .collect()
}

fn bench_embed(c: &mut Criterion) {
    let key = key();
    let mut group = c.benchmark_group("embed");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .throughput(Throughput::Elements(1));
    for (name, width, height) in [("1080p", 1920, 1080), ("2160p", 3840, 2160)] {
        let frame = still_luma(width, height);
        let mut embedder = Embedder::new(&key, RECIPIENT, width, height, &EmbedConfig::default())
            .expect("embedder");
        group.bench_function(name, |b| {
            b.iter_batched_ref(
                || frame.clone(),
                |luma| embedder.mark(black_box(luma.view_mut()), 8).expect("mark"),
                BatchSize::LargeInput,
            )
        });
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    group.throughput(Throughput::Elements(threads as u64));
    for (name, width, height) in [
        ("1080p_all_threads", 1920, 1080),
        ("2160p_all_threads", 3840, 2160),
    ] {
        let frame = still_luma(width, height);
        let mut streams: Vec<Embedder> = (0..threads)
            .map(|i| {
                Embedder::new(&key, i as u32, width, height, &EmbedConfig::default())
                    .expect("embedder")
            })
            .collect();
        group.bench_function(name, |b| {
            b.iter_batched_ref(
                || vec![frame.clone(); threads],
                |frames| {
                    std::thread::scope(|scope| {
                        for (embedder, luma) in streams.iter_mut().zip(frames.iter_mut()) {
                            scope.spawn(move || embedder.mark(luma.view_mut(), 8).expect("mark"));
                        }
                    })
                },
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

fn bench_overlay(c: &mut Criterion) {
    let key = key();
    let mut group = c.benchmark_group("overlay");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(1));
    let (width, height) = (1920, 1080);
    let luma = still_luma(width, height);
    let (cw, ch) = PixelFormat::Yuv420p.chroma_size(width, height);
    let frame = VideoFrame {
        format: PixelFormat::Yuv420p,
        planes: Planes::Eight([
            luma,
            Array2::from_elem((ch, cw), 128),
            Array2::from_elem((ch, cw), 128),
        ]),
        pts: None,
    };
    let session = SessionInfo::new(RECIPIENT, Some("critic@example.org".into()), "7f3a".into());
    for (name, position) in [
        ("1080p_corner", Position::BottomRight),
        ("1080p_tiled", Position::Tiled),
    ] {
        let config = OverlayConfig {
            template: "{label} {session}\n{timecode}".into(),
            position,
            ..OverlayConfig::default()
        };
        let mut overlay =
            Overlay::new(&config, &session, &key, width, height, Rational::new(24, 1))
                .expect("overlay");
        let mut frame_index = 0u64;
        group.bench_function(name, |b| {
            b.iter_batched_ref(
                || frame.clone(),
                |frame| {
                    frame_index += 1;
                    overlay
                        .apply(black_box(frame), frame_index)
                        .expect("overlay")
                },
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

/// A detector holding `ACCUMULATED_FRAMES` marked 1080p frames.
fn accumulated_detector(key: &Key) -> Detector {
    let (width, height) = (1920, 1080);
    let mut embedder =
        Embedder::new(key, RECIPIENT, width, height, &EmbedConfig::default()).expect("embedder");
    let mut detector = Detector::new();
    for mut frame in pan_frames(width, height, ACCUMULATED_FRAMES) {
        embedder.mark(frame.view_mut(), 8).expect("mark");
        detector.add_luma(frame.view(), 8).expect("add_luma");
    }
    detector
}

fn bench_detect(c: &mut Criterion) {
    let key = key();
    let mut group = c.benchmark_group("detect");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        // One frame, one leak check or one key per iteration.
        .throughput(Throughput::Elements(1));

    // Per-frame accumulation cost.
    let mut marked = still_luma(1920, 1080);
    Embedder::new(&key, RECIPIENT, 1920, 1080, &EmbedConfig::default())
        .expect("embedder")
        .mark(marked.view_mut(), 8)
        .expect("mark");
    let mut detector = Detector::new();
    group.bench_function("add_frame_1080p", |b| {
        b.iter(|| {
            detector
                .add_luma(black_box(marked.view()), 8)
                .expect("add_luma")
        })
    });

    // Once the frames are in: fold, search and decode.
    let detector = accumulated_detector(&key);
    let evidence: Evidence = detector.evidence();
    let found = evidence.detect(&key);
    assert_eq!(
        found.recipient,
        Some(RECIPIENT),
        "benchmark clip must decode: {found:?}"
    );
    let other = other_key();
    assert_eq!(evidence.detect(&other).recipient, None);

    // ~90 ms per iteration: give the 10 samples enough time.
    group.measurement_time(Duration::from_secs(6));
    group.bench_function("search_and_decode", |b| {
        b.iter(|| black_box(&detector).evidence().detect(black_box(&key)))
    });
    group.measurement_time(Duration::from_secs(4));
    group.bench_function("per_key", |b| {
        b.iter(|| black_box(&evidence).detect(black_box(&key)))
    });
    group.bench_function("per_key_wrong", |b| {
        b.iter(|| black_box(&evidence).detect(black_box(&other)))
    });
    group.finish();
}

criterion_group!(benches, bench_embed, bench_overlay, bench_detect);
criterion_main!(benches);
