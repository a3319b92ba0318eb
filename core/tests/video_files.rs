//! Video files through FFmpeg: decoding real footage, round trips through libx264/libx265 in
//! every supported pixel format with audio and subtitles copied, time stamps, colour tags,
//! and bad input that must give a clear error rather than a panic.
//!
//! Inputs are cut from the clips in `testdata/` with the `ffmpeg` command-line tool; outputs
//! are checked with `ffprobe` and by decoding them again.
#![cfg(feature = "ffmpeg")]

use std::path::{Path, PathBuf};

use filigree::video::ffmpeg::{Codec, EncodeOptions, FfmpegReader, FfmpegWriter, output_format};
use filigree::video::{
    FieldOrder, FrameSink, FrameSource, PixelFormat, Planes, Rational, StreamInfo, Timecode,
    VideoFrame,
};
use filigree::{Error, VideoError};
use filigree_testsupport::{entries, ffmpeg, ffprobe, ffprobe_json, p};
use serde_json::Value;

const BBB: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/bbb_720p25_5s.mp4");
const TOS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../testdata/tos_360p24_10s.mp4"
);

/// The file's streams as ffprobe reports them.
fn ffprobe_streams(path: &Path) -> Vec<Value> {
    ffprobe_json(path)["streams"].as_array().unwrap().clone()
}

fn streams_of_type<'a>(streams: &'a [Value], kind: &str) -> Vec<&'a Value> {
    streams.iter().filter(|s| s["codec_type"] == kind).collect()
}

fn decode_all(path: &Path) -> (StreamInfo, Vec<VideoFrame>) {
    let mut reader = FfmpegReader::open(path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(reader.path(), path);
    let info = reader.info().clone();
    let mut frames = Vec::new();
    while let Some(frame) = reader.next_frame().unwrap_or_else(|e| panic!("{e}")) {
        frames.push(frame);
    }
    (info, frames)
}

fn fast() -> EncodeOptions {
    EncodeOptions {
        preset: Some("ultrafast".into()),
        ..EncodeOptions::default()
    }
}

/// Decodes `input` and encodes it again into `output`; returns the writer's skipped streams.
fn round_trip(input: &Path, output: &Path, options: &EncodeOptions, copy: bool) -> Vec<String> {
    let mut reader = FfmpegReader::open(input).unwrap_or_else(|e| panic!("{e}"));
    let writer = FfmpegWriter::create(output, reader.info(), options, copy.then_some(input))
        .unwrap_or_else(|e| panic!("{e}"));
    let skipped = writer.skipped_streams().to_vec();
    let mut sink: Box<dyn FrameSink> = Box::new(writer);
    while let Some(frame) = reader.next_frame().unwrap_or_else(|e| panic!("{e}")) {
        sink.write_frame(&frame).unwrap_or_else(|e| panic!("{e}"));
    }
    sink.finish().unwrap_or_else(|e| panic!("{e}"));
    skipped
}

fn luma_mse(a: &VideoFrame, b: &VideoFrame) -> f64 {
    let (sum, n) = match (&a.planes, &b.planes) {
        (Planes::Eight(p), Planes::Eight(q)) => (
            p[0].iter()
                .zip(q[0].iter())
                .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
                .sum::<f64>(),
            p[0].len(),
        ),
        (Planes::High(p), Planes::High(q)) => (
            p[0].iter()
                .zip(q[0].iter())
                .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
                .sum::<f64>(),
            p[0].len(),
        ),
        _ => panic!("bit depths differ"),
    };
    sum / n as f64
}

/// Luma PSNR over whole sequences (mean squared error over all frames).
fn luma_psnr(a: &[VideoFrame], b: &[VideoFrame]) -> f64 {
    assert_eq!(a.len(), b.len());
    let peak = f64::from((1u32 << a[0].format.bit_depth()) - 1);
    let mse = a.iter().zip(b).map(|(x, y)| luma_mse(x, y)).sum::<f64>() / a.len() as f64;
    10.0 * (peak * peak / mse.max(1e-10)).log10()
}

/// A short cut of a test clip, re-encoded into `pix_fmt` (lossless-ish, fast).
fn make_clip(dir: &Path, name: &str, seconds: &str, extra: &[&str]) -> PathBuf {
    let path = dir.join(name);
    let mut args = vec!["-i", TOS, "-t", seconds, "-an"];
    args.extend_from_slice(extra);
    args.push(p(&path));
    ffmpeg(&args);
    path
}

/// Half a second of the test clip in `pix_fmt`, H.264 at CRF 10 (near-lossless).
fn near_lossless_clip(dir: &Path, pix_fmt: &str) -> PathBuf {
    let extra = [
        "-pix_fmt",
        pix_fmt,
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-crf",
        "10",
    ];
    make_clip(dir, &format!("{pix_fmt}.mp4"), "0.5", &extra)
}

#[test]
fn reader_and_writer_are_send() {
    fn assert_send<T: Send>() {}
    assert_send::<FfmpegReader>();
    assert_send::<FfmpegWriter>();
}

#[test]
fn encode_options() {
    let default = EncodeOptions::default();
    assert_eq!(default.codec, Codec::X264);
    assert_eq!(default.effective_preset(), Some("medium"));
    assert_eq!(default.effective_crf(), Some(17));
    let x265 = EncodeOptions {
        codec: Codec::X265,
        ..EncodeOptions::default()
    };
    assert_eq!(x265.effective_crf(), Some(19));
    let fixed = EncodeOptions {
        crf: Some(23),
        ..EncodeOptions::default()
    };
    assert_eq!(fixed.effective_crf(), Some(23));
    for name in ["libx264", "h264", "x264", "LIBX264"] {
        assert_eq!(Codec::from_name(name), Some(Codec::X264), "{name}");
    }
    for name in ["libx265", "hevc", "x265"] {
        assert_eq!(Codec::from_name(name), Some(Codec::X265), "{name}");
    }
    assert_eq!(Codec::from_name("vp9"), Some(Codec::Vp9));
    assert_eq!(Codec::from_name("mpeg2video"), None);
    assert_eq!(Codec::X265.encoder_name(), "libx265");
}

#[test]
fn decodes_real_footage() {
    let (info, frames) = decode_all(Path::new(TOS));
    assert_eq!((info.width, info.height), (640, 360));
    assert_eq!(info.format, PixelFormat::Yuv420p);
    assert_eq!(info.frame_rate, Rational::new(24, 1));
    assert_eq!(info.frames_hint, Some(240));
    assert_eq!(frames.len(), 240);
    let first = &frames[0];
    assert_eq!((first.width(), first.height()), (640, 360));
    let Planes::Eight(p) = &first.planes else {
        panic!("8-bit source")
    };
    assert_eq!(p[1].dim(), (180, 320));
    // Time stamps increase by one frame (1/24 s) in the stream's time base.
    let tb = info.time_base.as_f64();
    let pts: Vec<f64> = frames.iter().map(|f| f.pts.unwrap() as f64 * tb).collect();
    assert!(pts[0].abs() < 1e-6, "first pts {}", pts[0]);
    for w in pts.windows(2) {
        assert!((w[1] - w[0] - 1.0 / 24.0).abs() < 1e-3, "{w:?}");
    }
}

#[test]
fn round_trip_720p_with_audio() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("bbb_2s.mp4");
    ffmpeg(&["-i", BBB, "-t", "2", "-c", "copy", p(&input)]);
    let output = dir.path().join("marked.mp4");
    let skipped = round_trip(&input, &output, &EncodeOptions::default(), true);
    assert!(skipped.is_empty(), "{skipped:?}");

    let (in_info, in_frames) = decode_all(&input);
    let (out_info, out_frames) = decode_all(&output);
    assert_eq!((out_info.width, out_info.height), (1280, 720));
    assert_eq!(out_info.format, PixelFormat::Yuv420p);
    assert_eq!(out_info.frame_rate, in_info.frame_rate);
    assert_eq!(out_info.frame_rate, Rational::new(25, 1));
    assert_eq!(out_frames.len(), in_frames.len());
    assert!(in_frames.len() >= 48, "{} frames", in_frames.len());
    let psnr = luma_psnr(&in_frames, &out_frames);
    println!(
        "720p round trip: {} frames, luma PSNR {psnr:.2} dB",
        out_frames.len()
    );
    assert!(psnr > 40.0, "luma PSNR {psnr:.2} dB");

    let in_streams = ffprobe_streams(&input);
    let out_streams = ffprobe_streams(&output);
    let in_audio = streams_of_type(&in_streams, "audio");
    let out_audio = streams_of_type(&out_streams, "audio");
    assert_eq!(out_audio.len(), 1, "{out_streams:?}");
    assert_eq!(out_audio[0]["codec_name"], "aac");
    assert_eq!(out_audio[0]["channels"], in_audio[0]["channels"]);
    assert_eq!(out_audio[0]["channels"], 6);
    // All audio packets arrived: the same duration, give or take a packet.
    let duration = |s: &Value| s["duration"].as_str().unwrap().parse::<f64>().unwrap();
    assert!((duration(out_audio[0]) - duration(in_audio[0])).abs() < 0.03);
    let video = streams_of_type(&out_streams, "video");
    assert_eq!(video[0]["codec_name"], "h264");
    assert_eq!(video[0]["avg_frame_rate"], "25/1");
    // Nothing left behind but the input and the output.
    assert_eq!(entries(dir.path()), ["bbb_2s.mp4", "marked.mp4"]);
}

#[test]
fn ten_bit_round_trip_keeps_format_and_colour_tags() {
    let dir = tempfile::tempdir().unwrap();
    let input = make_clip(
        dir.path(),
        "ten.mkv",
        "1",
        &[
            "-pix_fmt",
            "yuv420p10le",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-crf",
            "12",
            "-color_primaries",
            "bt709",
            "-color_trc",
            "bt709",
            "-colorspace",
            "bt709",
            "-color_range",
            "tv",
        ],
    );
    let (info, in_frames) = decode_all(&input);
    assert_eq!(info.format, PixelFormat::Yuv420p10);
    assert_eq!(
        (
            info.color.primaries,
            info.color.transfer,
            info.color.matrix,
            info.color.range
        ),
        (1, 1, 1, 1)
    );
    assert!(matches!(in_frames[0].planes, Planes::High(_)));
    let max = in_frames
        .iter()
        .map(|f| match &f.planes {
            Planes::High(p) => *p[0].iter().max().unwrap(),
            Planes::Eight(_) => unreachable!(),
        })
        .max()
        .unwrap();
    assert!(max > 255 && max <= 1023, "10-bit samples, max {max}");

    let output = dir.path().join("out.mkv");
    round_trip(&input, &output, &fast(), true);
    let (out_info, out_frames) = decode_all(&output);
    assert_eq!(out_info.format, PixelFormat::Yuv420p10);
    assert_eq!(out_info.color, info.color);
    assert_eq!(out_frames.len(), in_frames.len());
    let psnr = luma_psnr(&in_frames, &out_frames);
    assert!(psnr > 40.0, "10-bit luma PSNR {psnr:.2} dB");

    let streams = ffprobe_streams(&output);
    let video = streams_of_type(&streams, "video")[0];
    assert_eq!(video["pix_fmt"], "yuv420p10le");
    assert_eq!(video["color_primaries"], "bt709");
    assert_eq!(video["color_transfer"], "bt709");
    assert_eq!(video["color_space"], "bt709");
    assert_eq!(video["color_range"], "tv");
}

#[test]
fn colour_tags_reach_mp4_too() {
    let dir = tempfile::tempdir().unwrap();
    let input = make_clip(
        dir.path(),
        "tagged.mp4",
        "0.5",
        &[
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-color_primaries",
            "bt709",
            "-color_trc",
            "bt709",
            "-colorspace",
            "bt709",
            "-color_range",
            "tv",
        ],
    );
    let output = dir.path().join("out.mp4");
    round_trip(&input, &output, &fast(), false);
    let video = streams_of_type(&ffprobe_streams(&output), "video")[0].clone();
    assert_eq!(video["color_primaries"], "bt709");
    assert_eq!(video["color_transfer"], "bt709");
    assert_eq!(video["color_space"], "bt709");
    assert_eq!(video["color_range"], "tv");
}

#[test]
fn chroma_422_and_444_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    for (pix_fmt, format) in [
        ("yuv422p", PixelFormat::Yuv422p),
        ("yuv444p", PixelFormat::Yuv444p),
        ("yuv422p10le", PixelFormat::Yuv422p10),
        ("yuv444p10le", PixelFormat::Yuv444p10),
    ] {
        let input = near_lossless_clip(dir.path(), pix_fmt);
        let (info, in_frames) = decode_all(&input);
        assert_eq!(info.format, format, "{pix_fmt}");
        let (cw, ch) = format.chroma_size(640, 360);
        match &in_frames[0].planes {
            Planes::Eight(p) => assert_eq!(p[2].dim(), (ch, cw)),
            Planes::High(p) => assert_eq!(p[2].dim(), (ch, cw)),
        }
        let output = dir.path().join(format!("{pix_fmt}-out.mkv"));
        round_trip(&input, &output, &fast(), false);
        let (out_info, out_frames) = decode_all(&output);
        assert_eq!(out_info.format, format, "{pix_fmt}");
        assert_eq!(out_frames.len(), in_frames.len(), "{pix_fmt}");
        let psnr = luma_psnr(&in_frames, &out_frames);
        assert!(psnr > 40.0, "{pix_fmt}: luma PSNR {psnr:.2} dB");
        let video = streams_of_type(&ffprobe_streams(&output), "video")[0].clone();
        assert_eq!(video["pix_fmt"], pix_fmt);
    }
}

#[test]
fn x265_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let options = EncodeOptions {
        codec: Codec::X265,
        ..fast()
    };
    for (pix_fmt, format) in [
        ("yuv420p", PixelFormat::Yuv420p),
        ("yuv420p10le", PixelFormat::Yuv420p10),
    ] {
        let input = near_lossless_clip(dir.path(), pix_fmt);
        let output = dir.path().join(format!("{pix_fmt}-out.mp4"));
        round_trip(&input, &output, &options, false);
        let (_, in_frames) = decode_all(&input);
        let (out_info, out_frames) = decode_all(&output);
        assert_eq!(out_info.format, format);
        assert_eq!(out_frames.len(), in_frames.len());
        let video = streams_of_type(&ffprobe_streams(&output), "video")[0].clone();
        assert_eq!(video["codec_name"], "hevc");
        assert_eq!(video["pix_fmt"], pix_fmt);
        // The tag Apple's players need for HEVC in MP4.
        assert_eq!(video["codec_tag_string"], "hvc1");
        let psnr = luma_psnr(&in_frames, &out_frames);
        assert!(psnr > 38.0, "x265 {pix_fmt}: luma PSNR {psnr:.2} dB");
    }
}

#[test]
fn other_pixel_formats_are_converted() {
    let dir = tempfile::tempdir().unwrap();
    for (name, extra, format) in [
        (
            "rgb.mkv",
            &["-pix_fmt", "rgb24", "-c:v", "ffv1"][..],
            PixelFormat::Yuv420p,
        ),
        (
            "nv12.mkv",
            &["-pix_fmt", "nv12", "-c:v", "rawvideo"][..],
            PixelFormat::Yuv420p,
        ),
        (
            "twelve.mkv",
            &["-pix_fmt", "yuv422p12le", "-c:v", "ffv1"][..],
            PixelFormat::Yuv420p10,
        ),
    ] {
        let input = make_clip(dir.path(), name, "0.25", extra);
        let (info, frames) = decode_all(&input);
        assert_eq!(info.format, format, "{name}");
        assert_eq!((info.width, info.height), (640, 360), "{name}");
        assert_eq!(frames.len(), 6, "{name}");
        assert!(frames.iter().all(|f| f.format == format), "{name}");
        if name == "rgb.mkv" {
            // swscale's RGB conversion: BT.601 matrix, limited range.
            assert_eq!((info.color.matrix, info.color.range), (6, 1));
        }
        // The converted frames encode like any other.
        let output = dir.path().join(format!("out-{name}"));
        round_trip(&input, &output, &fast(), false);
        let (out_info, out_frames) = decode_all(&output);
        assert_eq!(out_info.format, format, "{name}");
        assert_eq!(out_frames.len(), frames.len(), "{name}");
    }
}

#[test]
fn subtitles_are_copied_into_mkv_and_skipped_for_mp4() {
    let dir = tempfile::tempdir().unwrap();
    let clip = make_clip(
        dir.path(),
        "clip.mp4",
        "2",
        &["-c:v", "libx264", "-preset", "ultrafast"],
    );
    let srt = dir.path().join("subs.srt");
    std::fs::write(
        &srt,
        "1\n00:00:00,200 --> 00:00:00,900\nHello\n\n2\n00:00:01,000 --> 00:00:01,800\nWorld\n",
    )
    .unwrap();
    let input = dir.path().join("with-subs.mkv");
    ffmpeg(&[
        "-i",
        p(&clip),
        "-i",
        p(&srt),
        "-map",
        "0",
        "-map",
        "1",
        "-c:v",
        "copy",
        "-c:s",
        "srt",
        "-metadata:s:s:0",
        "language=fra",
        p(&input),
    ]);

    let output = dir.path().join("out.mkv");
    let skipped = round_trip(&input, &output, &fast(), true);
    assert!(skipped.is_empty(), "{skipped:?}");
    let streams = ffprobe_streams(&output);
    let subs = streams_of_type(&streams, "subtitle");
    assert_eq!(subs.len(), 1, "{streams:?}");
    assert_eq!(subs[0]["codec_name"], "subrip");
    assert_eq!(subs[0]["tags"]["language"], "fra");
    let text = ffmpeg(&["-i", p(&output), "-map", "0:s", "-f", "srt", "-"]);
    let text = String::from_utf8_lossy(&text);
    assert!(text.contains("Hello") && text.contains("World"), "{text}");
    assert!(text.contains("00:00:01,000 --> 00:00:01,800"), "{text}");

    // mp4 cannot carry SubRip: the stream is left out with a note, the video still written.
    let output = dir.path().join("out.mp4");
    let skipped = round_trip(&input, &output, &fast(), true);
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert!(skipped[0].contains("subrip"), "{skipped:?}");
    let streams = ffprobe_streams(&output);
    assert!(streams_of_type(&streams, "subtitle").is_empty());
    assert_eq!(streams_of_type(&streams, "video").len(), 1);
}

#[test]
fn time_stamps_and_duration_survive() {
    let dir = tempfile::tempdir().unwrap();
    for (name, extra) in [
        ("in.mp4", &["-c:v", "libx264", "-preset", "ultrafast"][..]),
        ("in.mkv", &["-c:v", "libx264", "-preset", "ultrafast"][..]),
    ] {
        let input = make_clip(dir.path(), name, "2", extra);
        for out_name in ["out.mp4", "out.mkv", "out.mov"] {
            let output = dir.path().join(out_name);
            round_trip(&input, &output, &fast(), false);
            let (in_info, in_frames) = decode_all(&input);
            let (out_info, out_frames) = decode_all(&output);
            assert_eq!(out_frames.len(), in_frames.len(), "{name} -> {out_name}");
            assert_eq!(out_frames.len(), 48, "{name} -> {out_name}");
            assert_eq!(
                out_info.frame_rate, in_info.frame_rate,
                "{name} -> {out_name}"
            );
            let frame = 1.0 / in_info.frame_rate.as_f64();
            for (a, b) in in_frames.iter().zip(&out_frames) {
                let ta = a.pts.unwrap() as f64 * in_info.time_base.as_f64();
                let tb = b.pts.unwrap() as f64 * out_info.time_base.as_f64();
                assert!(
                    (ta - tb).abs() < frame / 2.0,
                    "{name} -> {out_name}: {ta} vs {tb}"
                );
            }
            let duration = |p: &Path| {
                ffprobe(&["-show_entries", "format=duration", "-of", "csv=p=0"], p)
                    .trim()
                    .parse::<f64>()
                    .unwrap()
            };
            let (d_in, d_out) = (duration(&input), duration(&output));
            assert!(
                (d_in - d_out).abs() <= frame + 1e-6,
                "{name} -> {out_name}: duration {d_in} vs {d_out}"
            );
        }
    }
}

#[test]
fn bad_input_gives_clear_errors() {
    let dir = tempfile::tempdir().unwrap();

    let missing = dir.path().join("missing.mp4");
    let err = FfmpegReader::open(&missing).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("missing.mp4"), "{err}");

    let empty = dir.path().join("empty.mp4");
    std::fs::write(&empty, b"").unwrap();
    let err = FfmpegReader::open(&empty).unwrap_err();
    assert!(
        matches!(err, Error::Video(VideoError::InvalidVideo { .. })),
        "{err:?}"
    );
    assert!(err.to_string().contains("empty.mp4"), "{err}");

    let text = dir.path().join("notes.mp4");
    std::fs::write(&text, "This is not a video, just some text.\n".repeat(50)).unwrap();
    let err = FfmpegReader::open(&text).unwrap_err();
    assert!(
        matches!(err, Error::Video(VideoError::InvalidVideo { .. })),
        "{err:?}"
    );
    assert!(err.to_string().contains("notes.mp4"), "{err}");

    let err = FfmpegReader::open(dir.path()).unwrap_err();
    assert!(
        matches!(err, Error::Video(VideoError::InvalidVideo { .. })),
        "{err:?}"
    );

    let audio = dir.path().join("a.m4a");
    ffmpeg(&["-f", "lavfi", "-i", "sine=d=1", p(&audio)]);
    let err = FfmpegReader::open(&audio).unwrap_err();
    assert!(
        matches!(err, Error::Video(VideoError::NoVideoStream { .. })),
        "{err:?}"
    );
    assert!(err.to_string().contains("a.m4a"), "{err}");
}

/// Top-level MP4 boxes: (type, offset, size).
fn mp4_boxes(bytes: &[u8]) -> Vec<(String, usize, usize)> {
    let mut boxes = Vec::new();
    let mut at = 0;
    while at + 8 <= bytes.len() {
        let size = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        let kind = String::from_utf8_lossy(&bytes[at + 4..at + 8]).into_owned();
        boxes.push((kind, at, size));
        if size < 8 {
            break;
        }
        at += size;
    }
    boxes
}

/// Reads to the end or the first error; the number of frames, and the error if any.
fn read_to_end(reader: &mut FfmpegReader) -> (usize, Option<Error>) {
    let mut frames = 0;
    loop {
        match reader.next_frame() {
            Ok(Some(_)) => frames += 1,
            Ok(None) => return (frames, None),
            Err(e) => return (frames, Some(e)),
        }
    }
}

#[test]
fn truncated_files_yield_what_decodes() {
    let dir = tempfile::tempdir().unwrap();

    // The test clip keeps its index (moov) at the end: its first 30 % have no index, and
    // FFmpeg cannot read them at all.
    let bytes = std::fs::read(TOS).unwrap();
    assert_eq!(mp4_boxes(&bytes).last().unwrap().0, "moov");
    let cut = dir.path().join("cut.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() * 3 / 10]).unwrap();
    let err = FfmpegReader::open(&cut).unwrap_err();
    assert!(
        matches!(err, Error::Video(VideoError::InvalidVideo { .. })),
        "{err:?}"
    );
    assert!(err.to_string().contains("cut.mp4"), "{err}");

    // With the index in front (faststart), the first 30 % hold part of the frames: the reader
    // delivers those that decode, then ends normally.
    let faststart = dir.path().join("faststart.mp4");
    ffmpeg(&[
        "-i",
        TOS,
        "-c",
        "copy",
        "-movflags",
        "+faststart",
        p(&faststart),
    ]);
    let bytes = std::fs::read(&faststart).unwrap();
    assert_eq!(mp4_boxes(&bytes)[1].0, "moov", "{:?}", mp4_boxes(&bytes));
    let cut = dir.path().join("cut-faststart.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() * 3 / 10]).unwrap();
    let mut reader = FfmpegReader::open(&cut).unwrap();
    assert_eq!(reader.info().frames_hint, Some(240));
    let (frames, err) = read_to_end(&mut reader);
    println!("truncated file: {frames} of 240 frames, error {err:?}");
    assert!(err.is_none(), "{err:?}");
    assert!(frames > 24 && frames < 240, "{frames} frames");
    // The end stays the end.
    assert!(matches!(reader.next_frame(), Ok(None)));
}

#[test]
fn stream_without_decodable_frames_is_no_frames() {
    let dir = tempfile::tempdir().unwrap();

    // A y4m header and no frames: the format is known, the first next_frame finds nothing.
    let header_only = dir.path().join("header-only.y4m");
    std::fs::write(&header_only, "YUV4MPEG2 W640 H360 F24:1 Ip A1:1 C420jpeg\n").unwrap();
    let mut reader = FfmpegReader::open(&header_only).unwrap();
    assert_eq!(reader.info().format, PixelFormat::Yuv420p);
    match reader.next_frame() {
        Err(Error::Video(VideoError::NoFrames { path })) => assert_eq!(path, header_only),
        other => panic!("expected NoFrames, got {other:?}"),
    }
    assert!(matches!(reader.next_frame(), Ok(None)));

    // An MP4 index whose frames are all cut off, and one whose frame data is zeroed: FFmpeg
    // cannot even learn the pixel format. NoFrames either from open or from the first read.
    let faststart = dir.path().join("faststart.mp4");
    ffmpeg(&[
        "-i",
        TOS,
        "-t",
        "1",
        "-c",
        "copy",
        "-movflags",
        "+faststart",
        p(&faststart),
    ]);
    let bytes = std::fs::read(&faststart).unwrap();
    let (_, mdat_at, mdat_size) = mp4_boxes(&bytes)
        .into_iter()
        .find(|b| b.0 == "mdat")
        .unwrap();
    let cut = dir.path().join("index-only.mp4");
    std::fs::write(&cut, &bytes[..mdat_at + 8]).unwrap();
    let mut zeroed = bytes.clone();
    zeroed[mdat_at + 8..mdat_at + mdat_size].fill(0);
    let zero = dir.path().join("zeroed.mp4");
    std::fs::write(&zero, &zeroed).unwrap();
    for path in [cut, zero] {
        let result = FfmpegReader::open(&path).and_then(|mut r| r.next_frame());
        match result {
            Err(Error::Video(VideoError::NoFrames { path: p })) => assert_eq!(p, path),
            other => panic!("{}: expected NoFrames, got {other:?}", path.display()),
        }
    }
}

#[test]
fn writer_errors_and_cleanup() {
    let dir = tempfile::tempdir().unwrap();
    let info = StreamInfo {
        width: 320,
        height: 240,
        format: PixelFormat::Yuv420p,
        frame_rate: Rational::new(25, 1),
        time_base: Rational::new(1, 25),
        color: Default::default(),
        frames_hint: None,
        timecode: None,
        interlaced: None,
    };

    // The output directory does not exist: an error naming the path, nothing created.
    let nowhere = dir.path().join("no-such-dir").join("out.mp4");
    let err = FfmpegWriter::create(&nowhere, &info, &fast(), None).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Io { .. } | Error::Video(VideoError::Encode { .. })
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("out.mp4"), "{err}");
    assert!(entries(dir.path()).is_empty());

    // An extension FFmpeg cannot write: an error, no temporary file left.
    let odd = dir.path().join("out.notaformat");
    let err = FfmpegWriter::create(&odd, &info, &fast(), None).unwrap_err();
    assert!(
        matches!(err, Error::Video(VideoError::Encode { .. })),
        "{err:?}"
    );
    assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));

    // A bad CRF is refused up front.
    let bad_crf = EncodeOptions {
        crf: Some(60),
        ..fast()
    };
    let err = FfmpegWriter::create(&dir.path().join("x.mp4"), &info, &bad_crf, None).unwrap_err();
    assert!(
        matches!(err, Error::Video(VideoError::Encode { .. })),
        "{err:?}"
    );
    assert!(entries(dir.path()).is_empty());

    // 4:2:0 needs even sizes; the error says so before x264 does.
    let odd = StreamInfo {
        width: 321,
        ..info.clone()
    };
    let err = FfmpegWriter::create(&dir.path().join("odd.mp4"), &odd, &fast(), None).unwrap_err();
    assert!(err.to_string().contains("even width"), "{err}");
    assert!(entries(dir.path()).is_empty());

    // Dropped without finish: nothing left in the directory.
    let target = dir.path().join("dropped.mp4");
    let mut writer = FfmpegWriter::create(&target, &info, &fast(), None).unwrap();
    assert_eq!(
        entries(dir.path()).len(),
        1,
        "the temporary file exists while writing"
    );
    for i in 0..10 {
        let mut frame = VideoFrame::black(PixelFormat::Yuv420p, 320, 240);
        frame.pts = Some(i);
        writer.write_frame(&frame).unwrap();
    }
    // Frames of the wrong size or format are refused.
    let err = writer
        .write_frame(&VideoFrame::black(PixelFormat::Yuv420p, 640, 480))
        .unwrap_err();
    assert!(
        matches!(err, Error::Video(VideoError::FrameSizeChanged { .. })),
        "{err:?}"
    );
    let err = writer
        .write_frame(&VideoFrame::black(PixelFormat::Yuv444p, 320, 240))
        .unwrap_err();
    assert!(
        matches!(err, Error::Video(VideoError::Encode { .. })),
        "{err:?}"
    );
    let mut wrong_depth = VideoFrame::black(PixelFormat::Yuv420p, 320, 240);
    wrong_depth.planes = VideoFrame::black(PixelFormat::Yuv420p10, 320, 240).planes;
    let err = writer.write_frame(&wrong_depth).unwrap_err();
    assert!(err.to_string().contains("bit depth"), "{err}");
    let mut wrong_chroma = VideoFrame::black(PixelFormat::Yuv420p, 320, 240);
    wrong_chroma.planes = VideoFrame::black(PixelFormat::Yuv444p, 320, 240).planes;
    let err = writer.write_frame(&wrong_chroma).unwrap_err();
    assert!(err.to_string().contains("plane 1"), "{err}");
    drop(writer);
    assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));

    // Frames without time stamps get one per frame; finish makes the file appear.
    let target = dir.path().join("synthetic.mkv");
    let mut writer: Box<dyn FrameSink> =
        Box::new(FfmpegWriter::create(&target, &info, &fast(), None).unwrap());
    for _ in 0..25 {
        writer
            .write_frame(&VideoFrame::black(PixelFormat::Yuv420p, 320, 240))
            .unwrap();
    }
    writer.finish().unwrap();
    assert_eq!(entries(dir.path()), ["synthetic.mkv"]);
    let (out_info, frames) = decode_all(&target);
    assert_eq!(frames.len(), 25);
    assert_eq!(out_info.frame_rate, Rational::new(25, 1));
    let last = frames.last().unwrap().pts.unwrap() as f64 * out_info.time_base.as_f64();
    assert!((last - 24.0 / 25.0).abs() < 1e-3, "last pts {last}");
}

// ---------------------------------------------------------------------------------------
// Masters: timecode, pixel formats, codecs, interlacing

fn timecode_tag(streams: &[Value]) -> Option<String> {
    streams
        .iter()
        // Matroska's tags are upper case.
        .find_map(|s| {
            let tags = &s["tags"];
            tags["timecode"].as_str().or(tags["TIMECODE"].as_str())
        })
        .map(str::to_string)
}

#[test]
fn start_timecode_is_read_and_written_again() {
    let dir = tempfile::tempdir().unwrap();
    for (tc, rate, ext) in [
        ("10:00:00:00", "24000/1001", "mov"),
        ("00:59:59;00", "30000/1001", "mov"),
        ("01:00:00:00", "25", "mkv"),
    ] {
        let source = make_clip(
            dir.path(),
            &format!("tc-{rate}.{ext}").replace('/', "-"),
            "0.5",
            &[
                "-r",
                rate,
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-timecode",
                tc,
            ],
        );
        let reader = FfmpegReader::open(&source).unwrap();
        assert_eq!(reader.info().timecode, Timecode::parse(tc), "{tc}");
        for out_ext in ["mp4", "mov", "mkv"] {
            let output = dir
                .path()
                .join(format!("out-{rate}.{out_ext}").replace('/', "-"));
            let skipped = round_trip(&source, &output, &fast(), true);
            assert!(
                skipped.is_empty(),
                "the tmcd track is not a skipped stream: {skipped:?}"
            );
            assert_eq!(
                timecode_tag(&ffprobe_streams(&output)).as_deref(),
                Some(tc),
                "{tc} into .{out_ext}"
            );
        }
    }
    // No timecode in, none out.
    let plain = dir.path().join("plain.mp4");
    round_trip(Path::new(TOS), &plain, &fast(), false);
    assert_eq!(FfmpegReader::open(&plain).unwrap().info().timecode, None);
}

#[test]
fn output_format_follows_the_encoder() {
    use PixelFormat::*;
    let with = |codec, pix_fmt| EncodeOptions {
        codec,
        pix_fmt,
        ..EncodeOptions::default()
    };
    let format = |name: &str, source, options: &EncodeOptions| {
        output_format(Path::new(name), source, options).map_err(|e| e.to_string())
    };
    // The source's format where the encoder takes it, else the closest it does.
    assert_eq!(
        format("x.mp4", Yuv422p10, &with(Codec::X264, None)),
        Ok(Yuv422p10)
    );
    assert_eq!(
        format("x.mov", Yuv420p, &with(Codec::ProRes, None)),
        Ok(Yuv422p10)
    );
    assert_eq!(
        format("x.mov", Yuv444p10, &with(Codec::ProRes, None)),
        Ok(Yuv444p10)
    );
    assert_eq!(
        format("x.mov", Yuv420p, &with(Codec::DnxHr, None)),
        Ok(Yuv422p)
    );
    assert_eq!(
        format("x.mov", Yuv420p10, &with(Codec::DnxHr, None)),
        Ok(Yuv422p10)
    );
    assert_eq!(
        format("x.mp4", Yuv422p10, &with(Codec::SvtAv1, None)),
        Ok(Yuv420p10)
    );
    // An explicit format wins, if the encoder takes it.
    let screener = with(Codec::X264, Some(Yuv420p));
    assert_eq!(format("x.mp4", Yuv422p10, &screener), Ok(Yuv420p));
    let err = format("x.mov", Yuv422p10, &with(Codec::ProRes, Some(Yuv420p))).unwrap_err();
    assert!(err.contains("prores_ks cannot encode yuv420p"), "{err}");
    // Codec and container must fit.
    let err = format("x.mp4", Yuv422p10, &with(Codec::ProRes, None)).unwrap_err();
    assert!(
        err.contains("cannot go in a .mp4 file (use .mov or .mkv"),
        "{err}"
    );
    let err = format("x.webm", Yuv420p, &with(Codec::X264, None)).unwrap_err();
    assert!(err.contains("libx264 video cannot go in a .webm"), "{err}");
}

#[test]
fn ten_bit_422_is_marked_at_its_depth_and_written_as_yuv420p() {
    let dir = tempfile::tempdir().unwrap();
    let source = near_lossless_clip(dir.path(), "yuv422p10le");
    let output = dir.path().join("screener.mp4");
    let options = EncodeOptions {
        crf: Some(0),
        pix_fmt: Some(PixelFormat::Yuv420p),
        ..fast()
    };
    round_trip(&source, &output, &options, false);
    let (_, original) = decode_all(&source);
    let (info, converted) = decode_all(&output);
    assert_eq!(info.format, PixelFormat::Yuv420p);
    assert_eq!(converted.len(), original.len());
    // 10 bits to 8: luma is the same picture to within the dithered rounding.
    let eight_bit: Vec<VideoFrame> = original
        .iter()
        .map(|f| {
            let Planes::High(p) = &f.planes else {
                panic!("10-bit source")
            };
            let mut frame = VideoFrame::black(PixelFormat::Yuv420p, f.width(), f.height());
            let Planes::Eight(q) = &mut frame.planes else {
                unreachable!()
            };
            q[0] = p[0].mapv(|v| ((v + 2) >> 2).min(255) as u8);
            frame
        })
        .collect();
    let psnr = luma_psnr(&eight_bit, &converted);
    assert!(psnr > 45.0, "luma PSNR {psnr:.1} dB after 10 -> 8 bit");
}

#[test]
fn interlaced_streams_report_their_field_order() {
    let dir = tempfile::tempdir().unwrap();
    let interlaced = make_clip(
        dir.path(),
        "tff.mov",
        "0.5",
        &[
            "-flags",
            "+ilme+ildct",
            "-field_order",
            "tt",
            "-c:v",
            "prores_ks",
        ],
    );
    let mut reader = FfmpegReader::open(&interlaced).unwrap();
    assert_eq!(reader.info().interlaced, Some(FieldOrder::TopFieldFirst));
    match reader.refuse_interlaced() {
        Err(Error::Video(VideoError::Interlaced { order, .. })) => {
            assert_eq!(order, "top field first")
        }
        other => panic!("expected Interlaced, got {other:?}"),
    }
    // Detection reads interlaced leaks as they are.
    let mut reader = FfmpegReader::open(&interlaced).unwrap();
    assert!(reader.next_frame().unwrap().is_some());

    let mut progressive = FfmpegReader::open(Path::new(TOS)).unwrap();
    assert_eq!(progressive.info().interlaced, None);
    progressive.refuse_interlaced().unwrap();
    assert!(progressive.next_frame().unwrap().is_some());
}

#[test]
fn mezzanine_codecs_round_trip_at_10_bit_422() {
    let dir = tempfile::tempdir().unwrap();
    let source = near_lossless_clip(dir.path(), "yuv422p10le");
    let (_, original) = decode_all(&source);
    for (codec, ext, profile) in [
        (Codec::ProRes, "mov", "HQ"),
        (Codec::DnxHr, "mxf", "DNXHR HQX"),
    ] {
        let output = dir.path().join(format!("{}.{ext}", codec.encoder_name()));
        let options = EncodeOptions {
            codec,
            ..EncodeOptions::default()
        };
        round_trip(&source, &output, &options, false);
        let video = ffprobe_streams(&output)
            .into_iter()
            .find(|s| s["codec_type"] == "video")
            .unwrap();
        assert_eq!(video["profile"], profile, "{codec:?}");
        let (info, decoded) = decode_all(&output);
        assert_eq!(info.format, PixelFormat::Yuv422p10);
        let psnr = luma_psnr(&original, &decoded);
        assert!(psnr > 45.0, "{codec:?}: luma PSNR {psnr:.1} dB");
    }
}

#[test]
fn pcm_audio_is_re_encoded_as_aac_where_the_container_cannot_hold_it() {
    let dir = tempfile::tempdir().unwrap();
    let master = dir.path().join("master.mov");
    ffmpeg(&[
        "-i",
        TOS,
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=1000:sample_rate=48000",
        "-t",
        "1",
        "-map",
        "0:v",
        "-map",
        "1:a",
        "-ac",
        "2",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-c:a",
        "pcm_s24le",
        p(&master),
    ]);
    for (ext, audio_codec) in [("mp4", "aac"), ("mov", "pcm_s24le"), ("mkv", "pcm_s24le")] {
        let output = dir.path().join(format!("out.{ext}"));
        let skipped = round_trip(&master, &output, &fast(), true);
        assert!(skipped.is_empty(), ".{ext}: {skipped:?}");
        let streams = ffprobe_streams(&output);
        let audio = streams_of_type(&streams, "audio");
        assert_eq!(audio.len(), 1, ".{ext}");
        assert_eq!(audio[0]["codec_name"], audio_codec, ".{ext}");
        assert_eq!(audio[0]["channels"], 2, ".{ext}");
    }
}
