//! The GPU path against the CPU reference on real footage: marked samples within one code
//! value, and the same detection (recipient and false-positive probability), also after a
//! real H.264 re-encode.
//!
//! Runs on any wgpu adapter; CI has no GPU and uses Mesa's lavapipe (software Vulkan). With
//! no adapter at all these tests fail, unless FILIGREE_SKIP_GPU_TESTS=1 says to skip them.

use filigree::marker::{CpuMarker, FrameMarker};
use filigree::overlay::{Overlay, OverlayConfig, Position, SessionInfo};
use filigree::video::y4m::{Y4mReader, Y4mWriter};
use filigree::video::{FrameSink, FrameSource, PixelFormat, Planes, StreamInfo, VideoFrame};
use filigree::{Detection, Detector, EmbedConfig, Embedder, Key};
use filigree_gpu::{Gpu, GpuMarker};
use filigree_testsupport::{X264_LEAK, ffmpeg, p, testdata};
use ndarray::Array2;

fn gpu() -> Option<Gpu> {
    match Gpu::open() {
        Ok(gpu) => {
            eprintln!("adapter: {}", gpu.description());
            Some(gpu)
        }
        Err(e) if std::env::var_os("FILIGREE_SKIP_GPU_TESTS").is_some() => {
            eprintln!("skipped: {e}");
            None
        }
        Err(e) => panic!("{e} (install mesa-vulkan-drivers, or set FILIGREE_SKIP_GPU_TESTS=1)"),
    }
}

/// The first `frames` frames of a test clip, converted by the ffmpeg binary to `pix_fmt`
/// (and `vf` when given).
fn decode(
    clip: &str,
    frames: usize,
    pix_fmt: &str,
    vf: Option<&str>,
) -> (StreamInfo, Vec<VideoFrame>) {
    let input = testdata(clip);
    let frames = frames.to_string();
    let mut args = vec!["-i", p(&input)];
    if let Some(vf) = vf {
        args.extend(["-vf", vf]);
    }
    args.extend(["-frames:v", &frames, "-pix_fmt", pix_fmt]);
    args.extend(["-f", "yuv4mpegpipe", "-strict", "-1", "-"]);
    read_y4m(&ffmpeg(&args))
}

/// The stream info and frames of a y4m stream.
fn read_y4m(y4m: &[u8]) -> (StreamInfo, Vec<VideoFrame>) {
    let mut reader = Y4mReader::new(y4m, "ffmpeg").unwrap();
    let info = reader.info().clone();
    let mut frames = Vec::new();
    while let Some(frame) = reader.next_frame().unwrap() {
        frames.push(frame);
    }
    (info, frames)
}

fn run(marker: &mut dyn FrameMarker, frames: &[VideoFrame]) -> Vec<VideoFrame> {
    let mut out = Vec::new();
    let mut collect = |f| {
        out.push(f);
        Ok(())
    };
    for frame in frames {
        marker.push(frame.clone(), &mut collect).unwrap();
    }
    marker.finish(&mut collect).unwrap();
    assert_eq!(out.len(), frames.len());
    out
}

fn overlay(config: &OverlayConfig, key: &Key, info: &StreamInfo) -> Overlay {
    let session = SessionInfo::new(7, Some("critic@example.org".into()), "7f3a".into());
    Overlay::new(
        config,
        &session,
        key,
        info.width,
        info.height,
        info.frame_rate,
    )
    .unwrap()
}

/// Every sample of `a`'s planes with the same sample of `b`'s.
fn sample_pairs<S: Copy + Into<u32>>(a: &[Array2<S>; 3], b: &[Array2<S>; 3]) -> Vec<(u32, u32)> {
    a.iter()
        .zip(b)
        .flat_map(|(p, q)| p.iter().zip(q).map(|(&u, &v)| (u.into(), v.into())))
        .collect()
}

/// Largest difference and number of differing samples over all planes of all frames.
fn compare(a: &[VideoFrame], b: &[VideoFrame]) -> (u32, usize, usize) {
    let (mut worst, mut differing, mut total) = (0u32, 0usize, 0usize);
    for (x, y) in a.iter().zip(b) {
        let pairs: Vec<(u32, u32)> = match (&x.planes, &y.planes) {
            (Planes::Eight(p), Planes::Eight(q)) => sample_pairs(p, q),
            (Planes::High(p), Planes::High(q)) => sample_pairs(p, q),
            _ => panic!("plane types differ"),
        };
        for (u, v) in pairs {
            worst = worst.max(u.abs_diff(v));
            differing += usize::from(u != v);
            total += 1;
        }
    }
    (worst, differing, total)
}

fn detect(frames: &[VideoFrame], key: &Key) -> Detection {
    let mut detector = Detector::new();
    for frame in frames {
        detector.add_frame(frame).unwrap();
    }
    detector.detect(key)
}

/// Marks `frames` on the CPU and the GPU and checks the samples agree.
fn assert_parity(
    gpu: &Gpu,
    info: &StreamInfo,
    frames: &[VideoFrame],
    config: Option<&OverlayConfig>,
) -> (Vec<VideoFrame>, Vec<VideoFrame>) {
    let key = Key::from_bytes([11; 32]);
    let embed = EmbedConfig::default();
    let make_overlay = || config.map(|c| overlay(c, &key, info));
    let embedder = Embedder::new(&key, 42, info.width, info.height, &embed).unwrap();
    let cpu = run(&mut CpuMarker::new(embedder, make_overlay()), frames);
    let mut marker = GpuMarker::new(
        gpu,
        &key,
        42,
        &embed,
        info.format,
        (info.width, info.height),
        make_overlay(),
    )
    .unwrap();
    let on_gpu = run(&mut marker, frames);
    let (worst, differing, total) = compare(&cpu, &on_gpu);
    eprintln!(
        "{}x{} {}: max difference {worst}, {differing} of {total} samples differ",
        info.width,
        info.height,
        info.format.name()
    );
    assert!(worst <= 1, "GPU differs from CPU by {worst} code values");
    // Differences come only from f32 rounding at exact halves: rare.
    assert!(
        differing * 1000 <= total,
        "{differing} of {total} samples differ"
    );
    // And the frames were marked at all.
    let (changed, _, _) = compare(frames, &on_gpu);
    assert!(changed >= 2);
    (cpu, on_gpu)
}

#[test]
fn live_action_8bit_420_matches_cpu_and_detects_the_same() {
    let Some(gpu) = gpu() else { return };
    let (info, frames) = decode("tos_360p24_10s.mp4", 24, "yuv420p", None);
    let (cpu, on_gpu) = assert_parity(&gpu, &info, &frames, None);
    let key = Key::from_bytes([11; 32]);
    let (a, b) = (detect(&cpu, &key), detect(&on_gpu, &key));
    assert_eq!(b.recipient, Some(42));
    assert_eq!(a.recipient, b.recipient);
    let (fp_cpu, fp_gpu) = (
        a.false_positive_probability.unwrap(),
        b.false_positive_probability.unwrap(),
    );
    eprintln!("FP probability: CPU {fp_cpu:e}, GPU {fp_gpu:e}");
    // Equal to within a few percent in the exponent: the marks differ in a handful of
    // samples by one code value.
    let log_ratio = (fp_cpu.max(1e-300).log10() - fp_gpu.max(1e-300).log10()).abs();
    assert!(
        log_ratio < 0.05 * fp_cpu.max(1e-300).log10().abs(),
        "FP {fp_cpu:e} vs {fp_gpu:e}"
    );
    assert!(fp_gpu < 1e-9);
    // The wrong key sees no watermark in the GPU's output.
    let wrong = detect(&on_gpu, &Key::from_bytes([12; 32]));
    assert_eq!(wrong.recipient, None);
}

#[test]
fn overlay_and_mark_match_cpu_in_every_format() {
    let Some(gpu) = gpu() else { return };
    let corner = OverlayConfig {
        template: "{label} {session}\n{timecode}".into(),
        position: Position::BottomRight,
        ..OverlayConfig::default()
    };
    let tiled = OverlayConfig {
        template: "{recipient}".into(),
        position: Position::Tiled,
        opacity: 0.3,
        ..OverlayConfig::default()
    };
    let moving = OverlayConfig {
        template: "{session} {frame}".into(),
        position: Position::Moving,
        ..OverlayConfig::default()
    };
    for (pix_fmt, config) in [
        ("yuv420p", &corner),
        ("yuv422p", &tiled),
        ("yuv444p", &moving),
        ("yuv420p10le", &corner),
        ("yuv422p10le", &moving),
    ] {
        let (info, frames) = decode("caminandes_360p24_10s.mp4", 6, pix_fmt, None);
        assert_parity(&gpu, &info, &frames, Some(config));
    }
}

#[test]
fn odd_sizes_match_cpu() {
    let Some(gpu) = gpu() else { return };
    let corner = OverlayConfig {
        template: "{recipient} {timecode}".into(),
        position: Position::TopLeft,
        ..OverlayConfig::default()
    };
    // Odd width and height: chroma rounds up, planes end mid-word.
    let (info, frames) = decode("tos_360p24_10s.mp4", 4, "yuv420p", Some("scale=601:347"));
    assert_eq!((info.width, info.height), (601, 347));
    assert_parity(&gpu, &info, &frames, Some(&corner));
    // 10-bit: chroma planes end mid-word. (Odd 10-bit sizes are left out: FFmpeg 5.1's y4m
    // muxer writes frames of a size no y4m reader expects.)
    let (info, frames) = decode(
        "tos_360p24_10s.mp4",
        4,
        "yuv420p10le",
        Some("scale=182:302"),
    );
    assert_parity(&gpu, &info, &frames, None);
}

#[test]
fn gpu_marked_clip_survives_h264_with_the_cpu_result() {
    let Some(gpu) = gpu() else { return };
    let (info, frames) = decode("bbb_720p25_5s.mp4", 50, "yuv420p", None);
    let (cpu, on_gpu) = assert_parity(&gpu, &info, &frames, None);
    let key = Key::from_bytes([11; 32]);
    let dir = tempfile::tempdir().unwrap();
    let attacked = |frames: &[VideoFrame], name: &str| {
        let marked = dir.path().join(format!("{name}.y4m"));
        let mut writer: Box<dyn FrameSink> = Box::new(
            Y4mWriter::new(std::fs::File::create(&marked).unwrap(), &info, &marked).unwrap(),
        );
        for frame in frames {
            writer.write_frame(frame).unwrap();
        }
        writer.finish().unwrap();
        let encoded = dir.path().join(format!("{name}.mp4"));
        let mut encode = vec!["-i", p(&marked)];
        encode.extend(X264_LEAK);
        encode.push(p(&encoded));
        ffmpeg(&encode);
        read_y4m(&ffmpeg(&["-i", p(&encoded), "-f", "yuv4mpegpipe", "-"])).1
    };
    let a = detect(&attacked(&cpu, "cpu"), &key);
    let b = detect(&attacked(&on_gpu, "gpu"), &key);
    eprintln!("after H.264 CRF 28: CPU {a:?}\nGPU {b:?}");
    assert_eq!(a.recipient, Some(42));
    assert_eq!(b.recipient, Some(42));
    assert!(b.false_positive_probability.unwrap() < 1e-9);
}

#[test]
fn a_frame_of_another_size_is_refused() {
    let Some(gpu) = gpu() else { return };
    let key = Key::from_bytes([11; 32]);
    let mut marker = GpuMarker::new(
        &gpu,
        &key,
        1,
        &EmbedConfig::default(),
        PixelFormat::Yuv420p,
        (320, 240),
        None,
    )
    .unwrap();
    let frame = VideoFrame::black(PixelFormat::Yuv420p, 320, 200);
    let error = marker.push(frame, &mut |_| Ok(())).unwrap_err();
    assert!(error.to_string().contains("320x200"), "{error}");
    // Too small to mark at all: the embedder's own error.
    let error = GpuMarker::new(
        &gpu,
        &key,
        1,
        &EmbedConfig::default(),
        PixelFormat::Yuv420p,
        (160, 120),
        None,
    )
    .err()
    .unwrap();
    assert!(error.to_string().contains("160x120"), "{error}");
}

#[test]
fn letterboxed_and_pillarboxed_masters_match_cpu_with_the_picture_found_mid_stream() {
    let Some(gpu) = gpu() else { return };
    let corner = OverlayConfig {
        template: "{recipient} {timecode}".into(),
        position: Position::BottomRight,
        ..OverlayConfig::default()
    };
    // A scope picture fading in from black: the picture the embedder finds grows over the
    // first frames, so the GPU reloads its tables mid-stream. Then a 4:3 picture inside a
    // 10-bit 4:2:2 frame (a mezzanine's format), with an overlay.
    for (pix_fmt, vf, config) in [
        (
            "yuv420p",
            "crop=640:268,pad=640:360:(ow-iw)/2:(oh-ih)/2,fade=in:0:8",
            None,
        ),
        (
            "yuv422p10le",
            "crop=480:360,pad=640:360:(ow-iw)/2:(oh-ih)/2",
            Some(&corner),
        ),
    ] {
        let (info, frames) = decode("tos_360p24_10s.mp4", 14, pix_fmt, Some(vf));
        let (_, on_gpu) = assert_parity(&gpu, &info, &frames, config);
        check_bars(&frames, &on_gpu, pix_fmt);
    }
    // A title whose picture narrows mid-stream (1.90:1 scenes, then scope): the grid stays
    // the wider picture, each frame is marked only inside its own bars.
    let (info, mut frames) = decode(
        "tos_360p24_10s.mp4",
        12,
        "yuv420p",
        Some("crop=640:336,pad=640:360:(ow-iw)/2:(oh-ih)/2"),
    );
    for frame in &mut frames[6..] {
        if let Planes::Eight(p) = &mut frame.planes {
            p[0].slice_mut(ndarray::s![..46, ..]).fill(16);
            p[0].slice_mut(ndarray::s![314.., ..]).fill(16);
        }
    }
    let (_, on_gpu) = assert_parity(&gpu, &info, &frames, None);
    check_bars(&frames[6..], &on_gpu[6..], "scope after 1.90");
}

/// No mark in the bars: the top 40 rows (letterbox) or the left 70 columns (pillarbox)
/// are exactly the source's.
fn check_bars(frames: &[VideoFrame], on_gpu: &[VideoFrame], what: &str) {
    let bars_untouched =
        |source: &VideoFrame, marked: &VideoFrame| match (&source.planes, &marked.planes) {
            (Planes::Eight(a), Planes::Eight(b)) => {
                a[0].slice(ndarray::s![..40, ..]) == b[0].slice(ndarray::s![..40, ..])
            }
            (Planes::High(a), Planes::High(b)) => {
                a[0].slice(ndarray::s![.., ..70]) == b[0].slice(ndarray::s![.., ..70])
            }
            _ => false,
        };
    assert!(
        frames
            .iter()
            .zip(on_gpu)
            .all(|(source, marked)| bars_untouched(source, marked)),
        "{what}: the mark reached into the bars"
    );
}
