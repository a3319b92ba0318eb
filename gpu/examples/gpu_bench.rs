//! Frames per second of the GPU path at 1080p and 4K, next to the CPU reference, without
//! FFmpeg: frames are made in memory from a real still (`testdata/stills/rocket.jpg`).
//!
//! For each size it reports:
//! - kernels: the compute kernels alone on a frame already on the GPU;
//! - mark: upload luma, mark, download luma (what `embed --gpu` does without an overlay);
//! - mark+overlay: upload all planes, overlay (bottom-right, running timecode), mark, download;
//! - CPU: `CpuMarker` (overlay + mark) on one core, for comparison;
//! - host copies: copying the luma plane out and back in on the host alone, the ceiling the
//!   end-to-end figure cannot pass while transfers are staged on one thread.
//!
//! ```text
//! cargo run --release -p filigree-gpu --example gpu_bench -- [--frames N] [--still PATH]
//! ```
//! Built once, the binary runs on a machine without a Rust toolchain or FFmpeg (it needs the
//! Vulkan loader): `target/release/examples/gpu_bench`.

use std::path::PathBuf;
use std::time::Instant;

use filigree::marker::{CpuMarker, FrameMarker};
use filigree::overlay::{Matrix, Overlay, OverlayConfig, SessionInfo};
use filigree::video::{PixelFormat, Planes, Rational, VideoFrame};
use filigree::{EmbedConfig, Embedder, Key};
use filigree_gpu::{FRAMES_IN_FLIGHT, Gpu, GpuMarker};
use image::imageops::FilterType;
use ndarray::Array2;

struct Options {
    frames: usize,
    still: PathBuf,
}

fn options() -> Options {
    let mut options = Options {
        frames: 300,
        still: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/stills/rocket.jpg"),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--frames" => {
                options.frames = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--frames N")
            }
            "--still" => options.still = args.next().expect("--still PATH").into(),
            other => panic!("unknown argument {other:?} (use --frames N, --still PATH)"),
        }
    }
    options
}

/// The still scaled and cropped to `width x height`, as 8-bit 4:2:0 (BT.709, limited range).
fn frame_from_still(still: &image::RgbImage, width: usize, height: usize) -> VideoFrame {
    let scaled = image::imageops::resize(still, width as u32, height as u32, FilterType::Triangle);
    let ycbcr = |x: usize, y: usize| Matrix::Bt709.to_ycbcr(scaled.get_pixel(x as u32, y as u32).0);
    let luma = Array2::from_shape_fn((height, width), |(y, x)| (ycbcr(x, y).y + 0.5) as u8);
    let (cw, ch) = PixelFormat::Yuv420p.chroma_size(width, height);
    let chroma = |pick: fn(&filigree::overlay::YCbCr) -> f32| {
        Array2::from_shape_fn((ch, cw), |(cy, cx)| {
            let (x, y) = ((2 * cx).min(width - 1), (2 * cy).min(height - 1));
            (pick(&ycbcr(x, y)) + 0.5) as u8
        })
    };
    VideoFrame {
        format: PixelFormat::Yuv420p,
        planes: Planes::Eight([luma, chroma(|c| c.cb), chroma(|c| c.cr)]),
        pts: None,
    }
}

fn overlay(key: &Key, width: usize, height: usize) -> Overlay {
    let config = OverlayConfig {
        template: "{label} {session}\n{timecode}".into(),
        ..OverlayConfig::default()
    };
    let session = SessionInfo::new(42, Some("critic@example.org".into()), "7f3a".into());
    Overlay::new(&config, &session, key, width, height, Rational::new(24, 1)).expect("overlay")
}

/// Frames per second of `marker` over `count` frames, recycling a few frames so nothing is
/// allocated or copied on the host beyond what the marker itself does.
fn throughput(marker: &mut dyn FrameMarker, template: &VideoFrame, count: usize) -> f64 {
    let mut free: Vec<VideoFrame> = (0..FRAMES_IN_FLIGHT + 1)
        .map(|_| template.clone())
        .collect();
    // Warm-up: pipelines and buffers touched once.
    push_frames(marker, &mut free, FRAMES_IN_FLIGHT);
    let started = Instant::now();
    push_frames(marker, &mut free, count);
    marker
        .finish(&mut |done| {
            free.push(done);
            Ok(())
        })
        .expect("finish");
    count as f64 / started.elapsed().as_secs_f64()
}

/// Pushes `count` frames taken from `free`; finished frames go back to `free`.
fn push_frames(marker: &mut dyn FrameMarker, free: &mut Vec<VideoFrame>, count: usize) {
    for _ in 0..count {
        let frame = free.pop().expect("a free frame");
        marker
            .push(frame, &mut |done| {
                free.push(done);
                Ok(())
            })
            .expect("mark");
    }
}

/// Frames per second of copying the luma plane into a staging buffer and back on the host.
fn host_copy_rate(frame: &VideoFrame, count: usize) -> f64 {
    let Planes::Eight(planes) = &frame.planes else {
        unreachable!("the bench makes 8-bit frames")
    };
    let mut luma = planes[0].as_slice().expect("contiguous").to_vec();
    let mut staging = vec![0u8; luma.len()];
    let started = Instant::now();
    for _ in 0..count {
        staging.copy_from_slice(&luma);
        luma.copy_from_slice(std::hint::black_box(&staging));
    }
    count as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let options = options();
    let still = image::open(&options.still)
        .expect("read the still")
        .to_rgb8();
    let gpu = match Gpu::open() {
        Ok(gpu) => gpu,
        Err(e) => {
            eprintln!("gpu_bench: {e}");
            std::process::exit(2);
        }
    };
    let key = Key::from_bytes([7; 32]);
    let config = EmbedConfig::default();
    println!("adapter: {}", gpu.description());
    let still_name = options
        .still
        .file_name()
        .unwrap_or_default()
        .to_string_lossy();
    println!("still: {still_name}; {} frames per figure", options.frames);
    println!(
        "| size | GPU kernels | GPU mark (luma up/down) | GPU mark+overlay (all planes) | CPU mark+overlay (1 core) | host copies alone |"
    );
    println!("|---|---|---|---|---|---|");
    for (width, height) in [(1920, 1080), (3840, 2160)] {
        let frame = frame_from_still(&still, width, height);
        let gpu_marker = |with_overlay: bool| {
            GpuMarker::new(
                &gpu,
                &key,
                42,
                &config,
                PixelFormat::Yuv420p,
                (width, height),
                with_overlay.then(|| overlay(&key, width, height)),
            )
            .expect("GPU marker")
        };
        let mut marker = gpu_marker(false);
        let mark_fps = throughput(&mut marker, &frame, options.frames);
        let kernel = marker.time_kernels(options.frames as u32).expect("kernels");
        let overlay_fps = throughput(&mut gpu_marker(true), &frame, options.frames);
        let embedder = Embedder::new(&key, 42, width, height, &config).expect("embedder");
        let mut cpu = CpuMarker::new(embedder, Some(overlay(&key, width, height)));
        let cpu_fps = throughput(&mut cpu, &frame, (options.frames / 10).max(10));
        println!(
            "| {width}x{height} | {:.0} frames/s | {mark_fps:.0} frames/s | {overlay_fps:.0} frames/s | {cpu_fps:.0} frames/s | {:.0} frames/s |",
            1.0 / kernel.as_secs_f64(),
            host_copy_rate(&frame, options.frames)
        );
    }
}
