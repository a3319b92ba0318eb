//! Video files through FFmpeg's libraries: [`FfmpegReader`] decodes the best video stream of
//! any container FFmpeg reads; [`FfmpegWriter`] encodes frames with one of the [`Codec`]s,
//! converting them to the output's pixel format where it differs, keeps the source's start
//! timecode, and can copy the audio and subtitle streams of the original file alongside.
//!
//! Decoding keeps the source's planar Y'CbCr layout when Filigree handles it natively
//! (4:2:0, 4:2:2 and 4:4:4, 8 or 10 bits); any other format swscale can read is converted to
//! 4:2:0 at 8 bits (sources of at most 8 bits) or 10 bits (deeper sources).
//!
//! Damaged input: packets that fail to decode are skipped, as FFmpeg's own tools do, so a
//! truncated file yields the frames that decode and then ends normally. A file with a video
//! stream but no decodable frame gives [`VideoError::NoFrames`]: from the first `next_frame` call,
//! or already from `open` when FFmpeg could not decode enough to learn the pixel format. A
//! file cut before its index (an MP4 whose `moov` box is at the end) cannot be opened at all
//! ([`VideoError::InvalidVideo`]).
//!
//! Timecode: the reader takes the start timecode from the video stream's `timecode` tag, the
//! file's, or a timecode (`tmcd`) track's; the writer tags the output's video stream with it,
//! from which the MOV and MP4 muxers write a `tmcd` track (other containers keep the tag).
//!
//! Interlacing: the reader reports a field order the stream declares in
//! [`StreamInfo::interlaced`](super::StreamInfo::interlaced); after [`FfmpegReader::refuse_interlaced`] a frame flagged
//! interlaced is an [`VideoError::Interlaced`] too.
//!
//! Encoding writes to a temporary file next to the target (see [`super::temp`]) and renames it
//! onto the target in `finish`; a writer dropped before that leaves nothing behind.
//!
//! The rooms: [`probe`](probe()) (what a container says about itself, which stream is the
//! video), `reader` (decoding), `plan` (checking an encoding before a file is written),
//! `writer` (encoding, with `copy`: the original's audio and subtitles alongside) and
//! `remux` (two-step audio renditions and stream-copy joins). This file holds what they
//! share: set-up, file names, and the maps between FFmpeg's pixel formats and Filigree's.

use std::path::Path;
use std::sync::Once;

use ff::ffi;
use ff::format::Pixel;
use ff::software::scaling;
use ff::{format, frame};
use ffmpeg_next as ff;

pub use super::codec::{Codec, EncodeOptions};
use super::{PixelFormat, Rational};
use crate::error::{Error, Result, VideoError};

mod copy;
mod plan;
mod probe;
mod reader;
mod remux;
mod writer;

pub use plan::{encoder_opens, output_format};
pub use probe::{ContainerFacts, probe};
pub use reader::FfmpegReader;
pub use remux::{AudioTrack, remux, write_fragmented_aac};
pub use writer::{FfmpegWriter, OutputShape};

/// Initialises FFmpeg once per process and silences its own logging: Filigree reports every
/// failure itself, as one clear error (decoders would otherwise print per-packet complaints).
/// Safe to call any number of times; the reader and writer call it themselves.
pub fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        // `init` only registers devices in FFmpeg 5 and cannot fail there.
        let _ = ff::init();
        ff::log::set_level(ff::log::Level::Fatal);
    });
}

/// Threads for FFmpeg's decoders and encoders: one per available core (capped, as FFmpeg's
/// codecs gain nothing past 16 and some warn).
fn thread_count() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 16)
}

/// FFmpeg opens names, not paths: give it `file:<path>` so that names with a colon are never
/// taken for a protocol. FFmpeg needs UTF-8 without NUL bytes.
fn ffmpeg_url(path: &Path) -> std::result::Result<String, String> {
    let s = path
        .to_str()
        .ok_or_else(|| "FFmpeg can only open file names that are valid UTF-8".to_string())?;
    if s.contains('\0') {
        return Err("file name contains a NUL byte".to_string());
    }
    Ok(format!("file:{s}"))
}

fn to_rational(r: ff::Rational) -> Rational {
    Rational::new(r.numerator(), r.denominator())
}

fn to_ff(r: Rational) -> ff::Rational {
    ff::Rational::new(r.num, r.den)
}

fn is_valid_rate(r: ff::Rational) -> bool {
    r.numerator() > 0 && r.denominator() > 0
}

/// Pixel formats Filigree reads without conversion; the J (full-range) variants carry the
/// same samples and say so through `ColorInfo::range`.
fn native_format(px: Pixel) -> Option<(PixelFormat, bool)> {
    Some(match px {
        Pixel::YUV420P => (PixelFormat::Yuv420p, false),
        Pixel::YUVJ420P => (PixelFormat::Yuv420p, true),
        Pixel::YUV422P => (PixelFormat::Yuv422p, false),
        Pixel::YUVJ422P => (PixelFormat::Yuv422p, true),
        Pixel::YUV444P => (PixelFormat::Yuv444p, false),
        Pixel::YUVJ444P => (PixelFormat::Yuv444p, true),
        Pixel::YUV420P10LE => (PixelFormat::Yuv420p10, false),
        Pixel::YUV422P10LE => (PixelFormat::Yuv422p10, false),
        Pixel::YUV444P10LE => (PixelFormat::Yuv444p10, false),
        _ => return None,
    })
}

/// FFmpeg's pixel format for one of ours.
fn ffmpeg_pixel(format: PixelFormat) -> Pixel {
    match format {
        PixelFormat::Yuv420p => Pixel::YUV420P,
        PixelFormat::Yuv422p => Pixel::YUV422P,
        PixelFormat::Yuv444p => Pixel::YUV444P,
        PixelFormat::Yuv420p10 => Pixel::YUV420P10LE,
        PixelFormat::Yuv422p10 => Pixel::YUV422P10LE,
        PixelFormat::Yuv444p10 => Pixel::YUV444P10LE,
    }
}

fn pixel_name(px: Pixel) -> String {
    px.descriptor()
        .map(|d| d.name().to_string())
        .unwrap_or_else(|| format!("{px:?}").to_lowercase())
}

/// How frames of a source pixel format become one of ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Conversion {
    /// Planes copied as they are.
    Direct,
    /// Converted by swscale.
    Scale,
}

/// The format Filigree delivers for a source format, or `None` when swscale cannot read it.
fn plan_format(px: Pixel) -> Option<(PixelFormat, Conversion)> {
    if let Some((format, _)) = native_format(px) {
        return Some((format, Conversion::Direct));
    }
    let desc = px.descriptor()?;
    // SAFETY: the descriptor pointer comes from av_pix_fmt_desc_get and is static.
    let (flags, depth) = unsafe {
        let d = &*desc.as_ptr();
        (d.flags, d.comp[0].depth)
    };
    let unreadable = (ffi::AV_PIX_FMT_FLAG_HWACCEL | ffi::AV_PIX_FMT_FLAG_BITSTREAM) as u64;
    if flags & unreadable != 0 || !scaling::support::input(px) {
        return None;
    }
    let format = if depth <= 8 {
        PixelFormat::Yuv420p
    } else {
        PixelFormat::Yuv420p10
    };
    Some((format, Conversion::Scale))
}

fn is_rgb(px: Pixel) -> bool {
    px.descriptor()
        // SAFETY: static descriptor from av_pix_fmt_desc_get.
        .map(|d| unsafe { (*d.as_ptr()).flags } & ffi::AV_PIX_FMT_FLAG_RGB as u64 != 0)
        .unwrap_or(false)
}

fn is_full_range_j_format(px: Pixel) -> bool {
    matches!(
        px,
        Pixel::YUVJ411P | Pixel::YUVJ420P | Pixel::YUVJ422P | Pixel::YUVJ440P | Pixel::YUVJ444P
    )
}

// FFmpeg's colour enum values (libavutil/pixfmt.h).
const COL_UNSPECIFIED: i32 = 2;
const RANGE_UNSPECIFIED: i32 = 0;
const RANGE_MPEG: i32 = 1;
const RANGE_JPEG: i32 = 2;
const SPC_SMPTE170M: i32 = 6;

/// swscale's context holds no thread-bound state; moving it between threads is fine (FFmpeg's
/// own tools do), but ffmpeg-next does not mark it `Send`.
struct Scaler {
    context: scaling::Context,
    output: frame::Video,
}

// SAFETY: an SwsContext is plain heap state used by one thread at a time (we never share it).
unsafe impl Send for Scaler {}

/// Allocates the output context for `url` (the temporary file of `path`).
fn open_output(url: &str, path: &Path) -> Result<format::context::Output> {
    format::output(url).map_err(|e| {
        Error::Video(VideoError::Encode {
            path: path.to_path_buf(),
            reason: format!("FFmpeg cannot write this kind of file (from its extension): {e}"),
        })
    })
}
