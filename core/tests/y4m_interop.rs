//! y4m between FFmpeg and Filigree, so the pipe `ffmpeg -f yuv4mpegpipe | filigree | ffmpeg`
//! keeps every pixel: what FFmpeg writes reads as the same planes as its rawvideo, and what
//! Filigree writes FFmpeg reads back unchanged. These run the `ffmpeg` tool, which the test
//! environment must have (a missing one fails the test).

use std::io::Cursor;

use filigree::video::y4m::{Y4mReader, Y4mWriter};
use filigree::video::{FrameSink, FrameSource, PixelFormat, Planes, Rational, VideoFrame};
use filigree_testsupport::{ffmpeg_with_input, testdata};

/// The frames' planes as rawvideo: Y, Cb, Cr of each frame, 16-bit samples little-endian.
fn raw_bytes(frames: &[VideoFrame]) -> Vec<u8> {
    let mut out = Vec::new();
    for f in frames {
        match &f.planes {
            Planes::Eight(p) => p.iter().for_each(|a| out.extend(a.iter())),
            Planes::High(p) => p
                .iter()
                .for_each(|a| a.iter().for_each(|s| out.extend(s.to_le_bytes()))),
        }
    }
    out
}

fn interop(pix_fmt: &str, format: PixelFormat) {
    let clip = testdata("tos_360p24_10s.mp4");
    let clip = clip.to_str().expect("testdata path is UTF-8");
    let decode = |muxer: &str| {
        let args = [
            "-i",
            clip,
            "-frames:v",
            "10",
            "-pix_fmt",
            pix_fmt,
            "-strict",
            "-1",
            "-f",
            muxer,
            "-",
        ];
        ffmpeg_with_input(&args, &[])
    };
    let y4m = decode("yuv4mpegpipe");
    let raw = decode("rawvideo");

    let mut reader = Y4mReader::new(Cursor::new(&y4m), "-").unwrap();
    let info = reader.info().clone();
    let mut frames = Vec::new();
    while let Some(f) = reader.next_frame().unwrap() {
        frames.push(f);
    }
    assert_eq!((info.width, info.height), (640, 360));
    assert_eq!(info.format, format);
    assert_eq!(info.frame_rate, Rational::new(24, 1));
    assert_eq!(info.time_base, Rational::new(1, 24));
    assert_eq!(frames.len(), 10);
    assert_eq!(
        raw_bytes(&frames),
        raw,
        "y4m planes differ from ffmpeg's rawvideo"
    );

    // Write them back; ffmpeg must accept the stream and see the same pixels.
    let mut ours = Vec::new();
    let mut w = Box::new(Y4mWriter::new(&mut ours, &info, "-").unwrap());
    for f in &frames {
        w.write_frame(f).unwrap();
    }
    w.finish().unwrap();
    ffmpeg_with_input(&["-f", "yuv4mpegpipe", "-i", "-", "-f", "null", "-"], &ours);
    let back = ffmpeg_with_input(
        &[
            "-f",
            "yuv4mpegpipe",
            "-i",
            "-",
            "-f",
            "rawvideo",
            "-pix_fmt",
            pix_fmt,
            "-",
        ],
        &ours,
    );
    assert_eq!(back, raw, "ffmpeg read back different pixels");
}

#[test]
fn ffmpeg_interop_8bit() {
    interop("yuv420p", PixelFormat::Yuv420p);
}

#[test]
fn ffmpeg_interop_10bit() {
    interop("yuv420p10le", PixelFormat::Yuv420p10);
}
