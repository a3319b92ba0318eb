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
//! stream but no decodable frame gives [`Error::NoFrames`]: from the first `next_frame` call,
//! or already from `open` when FFmpeg could not decode enough to learn the pixel format. A
//! file cut before its index (an MP4 whose `moov` box is at the end) cannot be opened at all
//! ([`Error::InvalidVideo`]).
//!
//! Timecode: the reader takes the start timecode from the video stream's `timecode` tag, the
//! file's, or a timecode (`tmcd`) track's; the writer tags the output's video stream with it,
//! from which the MOV and MP4 muxers write a `tmcd` track (other containers keep the tag).
//!
//! Interlacing: the reader reports a field order the stream declares in
//! [`StreamInfo::interlaced`]; after [`FfmpegReader::refuse_interlaced`] a frame flagged
//! interlaced is an [`Error::Interlaced`] too.
//!
//! Encoding writes to a temporary file next to the target (see [`super::temp`]) and renames it
//! onto the target in `finish`; a writer dropped before that leaves nothing behind.

use std::ffi::{CStr, c_void};
use std::path::{Path, PathBuf};
use std::sync::Once;

use ff::ffi;
use ff::format::Pixel;
use ff::software::scaling;
use ff::{Rescale, codec, decoder, encoder, format, frame, media, picture};
use ffmpeg_next as ff;
use ndarray::Array2;

use super::audio::AacTranscoder;
pub use super::codec::{Codec, EncodeOptions};
use super::temp::TempOutput;
use super::{
    ColorInfo, FieldOrder, FrameSink, FrameSource, PixelFormat, Planes, Rational, StreamInfo,
    Timecode, VideoFrame,
};
use crate::error::{Error, Result};

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

/// The decoder's video stream: the best one FFmpeg finds, but never cover art (an attached
/// picture) when a real video stream exists.
fn pick_video_stream(input: &format::context::Input) -> Option<usize> {
    let is_real_video = |s: &ff::Stream| {
        s.parameters().medium() == media::Type::Video
            && !s
                .disposition()
                .contains(format::stream::Disposition::ATTACHED_PIC)
    };
    if let Some(best) = input
        .streams()
        .best(media::Type::Video)
        .filter(|s| is_real_video(s))
    {
        return Some(best.index());
    }
    input
        .streams()
        .find(|s| is_real_video(s))
        .map(|s| s.index())
}

/// The start timecode of the video stream `video`: its own `timecode` tag, else the file's,
/// else a timecode track's (MOV `tmcd`). Unparsable tags count as none.
fn start_timecode(input: &format::context::Input, video: usize) -> Option<Timecode> {
    let tag = |metadata: ff::DictionaryRef| metadata.get("timecode").and_then(Timecode::parse);
    input
        .stream(video)
        .and_then(|s| tag(s.metadata()))
        .or_else(|| tag(input.metadata()))
        .or_else(|| {
            input
                .streams()
                .filter(is_timecode_track)
                .find_map(|s| tag(s.metadata()))
        })
}

/// A data stream that only carries timecode (MOV/MP4 `tmcd`).
fn is_timecode_track(stream: &ff::Stream) -> bool {
    let tmcd = u32::from_le_bytes(*b"tmcd");
    // SAFETY: plain field of the stream's codec parameters.
    let tag = unsafe { (*stream.parameters().as_ptr()).codec_tag };
    stream.parameters().medium() == media::Type::Data && tag == tmcd
}

/// The field order FFmpeg's `AVFieldOrder` states, `None` for progressive or unknown.
fn field_order(order: ffi::AVFieldOrder) -> Option<FieldOrder> {
    use ffi::AVFieldOrder::*;
    match order {
        // FFmpeg's own tools write TB for top-field-first frames and BT for bottom-first
        // (TT and BB only for MJPEG), whatever the enum's comments say.
        AV_FIELD_TT | AV_FIELD_TB => Some(FieldOrder::TopFieldFirst),
        AV_FIELD_BB | AV_FIELD_BT => Some(FieldOrder::BottomFieldFirst),
        _ => None,
    }
}

/// Tells the demuxer to drop the packets of stream `index` (they are never needed).
fn discard_stream(input: &mut format::context::Input, index: usize) {
    if let Some(mut stream) = input.stream_mut(index) {
        // SAFETY: a valid stream of this context; `discard` is a plain field.
        unsafe { (*stream.as_mut_ptr()).discard = ffi::AVDiscard::AVDISCARD_ALL };
    }
}

/// What a file's container says about itself, for evidence reports.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerFacts {
    /// FFmpeg's name for the container format (`mov,mp4,m4a,3gp,3g2,mj2`, `mpegts`).
    pub format: String,
    pub duration_seconds: Option<f64>,
    pub bit_rate: Option<i64>,
    /// One line per stream: `video h264 1920x1080`, `audio aac 48000 Hz 2 ch`.
    pub streams: Vec<String>,
}

/// Reads the container's description of `path` (no frame is decoded).
pub fn probe(path: &Path) -> Result<ContainerFacts> {
    init();
    let invalid = |reason: String| Error::InvalidVideo {
        path: path.to_path_buf(),
        reason,
    };
    let url = ffmpeg_url(path).map_err(invalid)?;
    let input = format::input(&url).map_err(|e| invalid(e.to_string()))?;
    let streams = input
        .streams()
        .map(|stream| {
            let parameters = stream.parameters();
            // SAFETY: plain fields of the stream's codec parameters.
            let raw = unsafe { &*parameters.as_ptr() };
            let medium = medium_name(parameters.medium());
            let codec = codec_name(parameters.id());
            match parameters.medium() {
                media::Type::Video => format!("{medium} {codec} {}x{}", raw.width, raw.height),
                media::Type::Audio => format!(
                    "{medium} {codec} {} Hz {} ch",
                    raw.sample_rate, raw.ch_layout.nb_channels
                ),
                _ => format!("{medium} {codec}"),
            }
        })
        .collect();
    let duration = input.duration();
    Ok(ContainerFacts {
        format: input.format().name().to_string(),
        duration_seconds: (duration > 0).then(|| duration as f64 / f64::from(ffi::AV_TIME_BASE)),
        bit_rate: (input.bit_rate() > 0).then(|| input.bit_rate()),
        streams,
    })
}

fn codec_name(id: codec::Id) -> String {
    // SAFETY: avcodec_get_name returns a static string for every id (possibly "unknown_codec").
    unsafe { CStr::from_ptr(ffi::avcodec_get_name(id.into())) }
        .to_string_lossy()
        .into_owned()
}

fn medium_name(medium: media::Type) -> &'static str {
    match medium {
        media::Type::Video => "video",
        media::Type::Audio => "audio",
        media::Type::Subtitle => "subtitle",
        media::Type::Data => "data",
        media::Type::Attachment => "attachment",
        _ => "unknown",
    }
}

/// Consecutive decode errors tolerated without a frame before the reader gives up.
const MAX_CONSECUTIVE_DECODE_ERRORS: u32 = 1000;

/// swscale's context holds no thread-bound state; moving it between threads is fine (FFmpeg's
/// own tools do), but ffmpeg-next does not mark it `Send`.
struct Scaler {
    context: scaling::Context,
    output: frame::Video,
}

// SAFETY: an SwsContext is plain heap state used by one thread at a time (we never share it).
unsafe impl Send for Scaler {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReadState {
    /// Packets are still being read from the file.
    Reading,
    /// End of file reached and signalled to the decoder; draining buffered frames.
    Draining,
    /// Everything delivered.
    Done,
}

/// Decodes the best video stream of a file into [`VideoFrame`]s, in display order.
pub struct FfmpegReader {
    path: PathBuf,
    info: StreamInfo,
    input: format::context::Input,
    stream_index: usize,
    decoder: decoder::Video,
    decoded: frame::Video,
    /// Converts frames whose format Filigree does not take as it is.
    scaler: Option<Scaler>,
    state: ReadState,
    frames_read: u64,
    /// `NoFrames` was reported; later calls just say the stream is over.
    reported_no_frames: bool,
    decode_errors: u32,
    /// See [`FfmpegReader::refuse_interlaced`].
    refuse_interlaced: bool,
    /// See [`FfmpegReader::allow_size_changes`].
    size_changes: bool,
    /// See [`FfmpegReader::keyframes_only_after`].
    sampling: Option<KeyframeSampling>,
    /// The stream's own frame size; `info` states the delivered size (see
    /// [`FfmpegReader::deliver_at`]).
    stream_size: (usize, usize),
    /// The stream's first time stamp (its `start_time`, in the stream's time base).
    start_pts: i64,
    /// After a seek ([`FfmpegReader::seek_to_frame`]): frames before this time stamp are
    /// decoded (they lead up to it from a keyframe) and dropped.
    skip_before: Option<i64>,
}

/// Keyframes only, past the first seconds of a stream (see
/// [`FfmpegReader::keyframes_only_after`]).
#[derive(Debug, Clone, Copy)]
struct KeyframeSampling {
    /// Seconds from the first packet read in full.
    after: f64,
    first_pts: Option<i64>,
    /// Keyframes among those seconds' packets.
    keyframes: u32,
}

/// Keyframes the fully read stretch must hold before the rest is sampled at its keyframes:
/// fewer (a stream with rare keyframes, or only one) is read in full.
const MIN_KEYFRAMES_TO_SAMPLE: u32 = 3;

impl std::fmt::Debug for FfmpegReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FfmpegReader")
            .field("path", &self.path)
            .field("info", &self.info)
            .field("stream_index", &self.stream_index)
            .field("frames_read", &self.frames_read)
            .finish_non_exhaustive()
    }
}

impl FfmpegReader {
    /// Opens `path` and its best video stream.
    ///
    /// Errors: [`Error::Io`] when the file cannot be read at all, [`Error::InvalidVideo`] when
    /// FFmpeg cannot make sense of it (or has no decoder for its video),
    /// [`Error::NoVideoStream`], [`Error::UnsupportedPixelFormat`], and [`Error::NoFrames`]
    /// when not even the pixel format could be decoded.
    pub fn open(path: &Path) -> Result<FfmpegReader> {
        init();
        let invalid = |reason: String| Error::InvalidVideo {
            path: path.to_path_buf(),
            reason,
        };
        // A clear "No such file or directory" beats FFmpeg's wording.
        let meta = std::fs::metadata(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        if meta.is_dir() {
            return Err(invalid("is a directory".into()));
        }
        let url = ffmpeg_url(path).map_err(invalid)?;
        let mut input = format::input(&url).map_err(|e| {
            invalid(match e {
                // FFmpeg's demuxers return errno values (EIO, EINVAL, EBUSY ...) for files they
                // cannot parse; their strerror text would blame the system.
                ff::Error::Other { .. } => {
                    "FFmpeg cannot parse it (damaged, truncated or not a video)".into()
                }
                e => e.to_string(),
            })
        })?;

        let stream_index = pick_video_stream(&input).ok_or_else(|| Error::NoVideoStream {
            path: path.to_path_buf(),
        })?;
        // Only the video stream is demuxed for decoding.
        for i in 0..input.nb_streams() as usize {
            if i != stream_index {
                discard_stream(&mut input, i);
            }
        }

        let stream = input
            .stream(stream_index)
            .ok_or_else(|| invalid("video stream vanished".into()))?;
        let time_base = stream.time_base();
        let frame_rate = [stream.avg_frame_rate(), stream.rate()]
            .into_iter()
            .find(|r| is_valid_rate(*r));
        let frames_hint = u64::try_from(stream.frames()).ok().filter(|&n| n > 0);
        let start_pts = match stream.start_time() {
            ffi::AV_NOPTS_VALUE => 0,
            start => start,
        };
        let timecode = start_timecode(&input, stream_index);
        let parameters = stream.parameters();
        // SAFETY: plain field of the stream's codec parameters.
        let interlaced = field_order(unsafe { (*parameters.as_ptr()).field_order });
        let codec_id = parameters.id();

        let mut context = codec::context::Context::from_parameters(parameters)
            .map_err(|e| invalid(format!("cannot read codec parameters: {e}")))?;
        context.set_threading(ff::threading::Config {
            kind: ff::threading::Type::Frame,
            count: thread_count(),
            ..Default::default()
        });
        let mut dec = context.decoder();
        dec.set_packet_time_base(time_base);
        let decoder = dec.video().map_err(|e| {
            invalid(format!(
                "cannot open a decoder for its {} video: {e}",
                codec_name(codec_id)
            ))
        })?;

        let frame_rate = frame_rate
            .or_else(|| decoder.frame_rate().filter(|r| is_valid_rate(*r)))
            .map(to_rational)
            // Nothing states a rate (rare: some raw streams); 25 fps is FFmpeg's own guess.
            .unwrap_or(Rational::new(25, 1));
        let time_base = if is_valid_rate(time_base) {
            to_rational(time_base)
        } else {
            Rational::new(frame_rate.den, frame_rate.num)
        };

        let source_format = decoder.format();
        if source_format == Pixel::None || decoder.width() == 0 || decoder.height() == 0 {
            // find_stream_info could not decode a single frame to learn the format.
            return Err(Error::NoFrames {
                path: path.to_path_buf(),
            });
        }
        let (format, conversion) =
            plan_format(source_format).ok_or_else(|| Error::UnsupportedPixelFormat {
                path: path.to_path_buf(),
                format: pixel_name(source_format),
            })?;

        // SAFETY: reading plain fields of the opened decoder context.
        let raw = unsafe { &*decoder.as_ptr() };
        let mut color = ColorInfo {
            primaries: raw.color_primaries as i32,
            transfer: raw.color_trc as i32,
            matrix: raw.colorspace as i32,
            range: raw.color_range as i32,
        };
        match conversion {
            Conversion::Direct => {
                if is_full_range_j_format(source_format) && color.range == RANGE_UNSPECIFIED {
                    color.range = RANGE_JPEG;
                }
            }
            Conversion::Scale => {
                if is_rgb(source_format) {
                    // swscale's default RGB -> Y'CbCr: BT.601 matrix, limited range.
                    color.matrix = SPC_SMPTE170M;
                    color.range = RANGE_MPEG;
                } else if is_full_range_j_format(source_format) {
                    // swscale converts J formats to limited range.
                    color.range = RANGE_MPEG;
                }
            }
        }

        let info = StreamInfo {
            width: decoder.width() as usize,
            height: decoder.height() as usize,
            format,
            frame_rate,
            time_base,
            color,
            frames_hint,
            timecode,
            interlaced,
        };
        Ok(FfmpegReader {
            path: path.to_path_buf(),
            stream_size: (info.width, info.height),
            info,
            input,
            stream_index,
            decoder,
            decoded: frame::Video::empty(),
            scaler: None,
            state: ReadState::Reading,
            frames_read: 0,
            reported_no_frames: false,
            decode_errors: 0,
            refuse_interlaced: false,
            size_changes: false,
            sampling: None,
            start_pts,
            skip_before: None,
        })
    }

    /// Positions the reader so that the next frame is frame `index` of the stream (counted
    /// from its start at its frame rate): seeks to the keyframe at or before it and drops the
    /// frames decoded on the way. Frame-accurate for constant-frame-rate streams whose frames
    /// carry time stamps, as masters and mezzanines do.
    pub fn seek_to_frame(&mut self, index: u64) -> Result<()> {
        let time_base = self.info.time_base;
        let rate = self.info.frame_rate;
        // The frame's time stamp in the stream's time base.
        let offset = index as i128 * rate.den as i128 * time_base.den as i128
            / (rate.num as i128 * time_base.num as i128).max(1);
        let target = self
            .start_pts
            .saturating_add(offset.min(i64::MAX as i128) as i64);
        // avformat_seek_file with no stream index takes microseconds.
        let micros = (target as i128 * time_base.num as i128 * 1_000_000
            / (time_base.den as i128).max(1))
        .clamp(i64::MIN as i128, i64::MAX as i128) as i64;
        self.input
            .seek(micros, ..micros)
            .map_err(|e| self.invalid(format!("cannot seek to frame {index}: {e}")))?;
        self.decoder.flush();
        self.state = ReadState::Reading;
        // Half a frame of slack for time stamps rounded by the container.
        let half_frame = (rate.den as i128 * time_base.den as i128
            / (2 * rate.num as i128 * time_base.num as i128).max(1))
            as i64;
        self.skip_before = Some(target - half_frame);
        Ok(())
    }

    /// From now on, fails with [`Error::Interlaced`] on interlaced video: at once when the
    /// stream declares a field order, else at the first frame the decoder flags interlaced.
    /// For marking, which works on whole progressive frames.
    pub fn refuse_interlaced(&mut self) -> Result<()> {
        self.refuse_interlaced = true;
        match self.info.interlaced {
            Some(order) => Err(Error::Interlaced {
                path: self.path.clone(),
                order: order.describe(),
            }),
            None => Ok(()),
        }
    }

    /// Lets frames of another size than the stream's first through, each at its own size
    /// (a stream rip that switches renditions; the detector brings them to one plane).
    /// Without it such a frame is [`Error::FrameSizeChanged`]: an encoder fed from this
    /// reader takes one size.
    pub fn allow_size_changes(&mut self) {
        self.size_changes = true;
    }

    /// Delivers every frame scaled to `size` (swscale, bicubic), and states that size in
    /// [`FfmpegReader::info`]: what a live render of a smaller rendition marks, so that
    /// its marking and overlay cost the rendition's pixels, not the master's.
    pub fn deliver_at(&mut self, size: (usize, usize)) {
        self.info.width = size.0;
        self.info.height = size.1;
    }

    /// Past the first `seconds` of the stream, decodes keyframes only (the packets of
    /// other frames are dropped unread), when those seconds held keyframes often enough
    /// ([`MIN_KEYFRAMES_TO_SAMPLE`]). Keyframes need no other frame, so a long file is
    /// crossed at demuxing speed: detection's way through a whole film.
    pub fn keyframes_only_after(&mut self, seconds: f64) {
        self.sampling = Some(KeyframeSampling {
            after: seconds,
            first_pts: None,
            keyframes: 0,
        });
    }

    /// Whether keyframe sampling passes over `packet`.
    fn sampled_out(&mut self, packet: &ff::Packet) -> bool {
        let time_base = self.info.time_base.as_f64();
        let Some(sampling) = &mut self.sampling else {
            return false;
        };
        let Some(pts) = packet.pts().or(packet.dts()) else {
            return false;
        };
        let first = *sampling.first_pts.get_or_insert(pts);
        if (pts - first) as f64 * time_base <= sampling.after {
            sampling.keyframes += u32::from(packet.is_key());
            return false;
        }
        sampling.keyframes >= MIN_KEYFRAMES_TO_SAMPLE && !packet.is_key()
    }

    /// The file this reader decodes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn invalid(&self, reason: String) -> Error {
        Error::InvalidVideo {
            path: self.path.clone(),
            reason,
        }
    }

    /// Decodes the next frame into `self.decoded`; `false` at the end of the stream.
    fn decode_next(&mut self) -> Result<bool> {
        loop {
            if self.state == ReadState::Done {
                return Ok(false);
            }
            match self.decoder.receive_frame(&mut self.decoded) {
                Ok(()) => {
                    self.decode_errors = 0;
                    return Ok(true);
                }
                Err(ff::Error::Eof) => {
                    self.state = ReadState::Done;
                    return Ok(false);
                }
                Err(ff::Error::Other { errno }) if errno == ffi::EAGAIN => {
                    if self.state == ReadState::Draining {
                        // Cannot happen after send_eof; don't spin if it does.
                        self.state = ReadState::Done;
                        return Ok(false);
                    }
                    self.feed_decoder()?;
                }
                Err(e) => {
                    // A frame failed to decode (corrupt data): skip it, as ffmpeg does.
                    self.decode_errors += 1;
                    if self.decode_errors > MAX_CONSECUTIVE_DECODE_ERRORS {
                        return Err(self.invalid(format!("video does not decode: {e}")));
                    }
                }
            }
        }
    }

    /// Sends the next packet of the video stream to the decoder, or end-of-stream.
    fn feed_decoder(&mut self) -> Result<()> {
        let mut packet = ff::Packet::empty();
        loop {
            match packet.read(&mut self.input) {
                Ok(()) => {
                    if packet.stream() != self.stream_index || self.sampled_out(&packet) {
                        continue;
                    }
                    match self.decoder.send_packet(&packet) {
                        Ok(()) => return Ok(()),
                        Err(ff::Error::Eof) => {
                            self.state = ReadState::Draining;
                            return Ok(());
                        }
                        Err(e) => {
                            // Corrupt packet: skip it.
                            self.decode_errors += 1;
                            if self.decode_errors > MAX_CONSECUTIVE_DECODE_ERRORS {
                                return Err(self.invalid(format!("video does not decode: {e}")));
                            }
                        }
                    }
                }
                // A damaged packet the demuxer can resync past.
                Err(ff::Error::InvalidData) => continue,
                Err(ff::Error::Eof) => return self.start_draining(),
                // Any other read error is sticky in FFmpeg; treat truncated/unreadable data
                // as the end of the stream, keeping the frames decoded so far.
                Err(_) if self.frames_read > 0 => return self.start_draining(),
                Err(e) => return Err(self.invalid(format!("read error: {e}"))),
            }
        }
    }

    fn start_draining(&mut self) -> Result<()> {
        self.state = ReadState::Draining;
        // An error here comes from decoding a frame buffered before the end-of-stream
        // signal (which FFmpeg has taken regardless): skip that frame and drain the rest.
        if self.decoder.send_eof().is_err() {
            self.decode_errors += 1;
        }
        Ok(())
    }

    /// Turns `self.decoded` into a [`VideoFrame`] of the stream's format.
    fn convert(&mut self) -> Result<VideoFrame> {
        let src = &self.decoded;
        let size = (src.width() as usize, src.height() as usize);
        if !self.size_changes {
            Error::check_frame_size(size, self.stream_size)?;
        }
        // Delivered at the stated size, unless frames may change size (then each keeps its own).
        let (width, height) = match self.size_changes {
            true => size,
            false => (self.info.width, self.info.height),
        };
        let pts = src.timestamp();
        let format = self.info.format;
        let direct =
            native_format(src.format()).map(|(f, _)| f) == Some(format) && (width, height) == size;
        let planes = if direct {
            copy_planes(src, format, width, height)
        } else {
            let src_format = src.format();
            let target = ffmpeg_pixel(format);
            let reuse = self.scaler.as_ref().is_some_and(|s| {
                let input = s.context.input();
                input.format == src_format
                    && input.width == size.0 as u32
                    && input.height == size.1 as u32
                    && s.context.output().width == width as u32
                    && s.context.output().height == height as u32
            });
            if !reuse {
                let context = scaling::Context::get(
                    src_format,
                    size.0 as u32,
                    size.1 as u32,
                    target,
                    width as u32,
                    height as u32,
                    scaling::Flags::BICUBIC,
                )
                .map_err(|_| Error::UnsupportedPixelFormat {
                    path: self.path.clone(),
                    format: pixel_name(src_format),
                })?;
                self.scaler = Some(Scaler {
                    context,
                    output: frame::Video::empty(),
                });
            }
            let scaler = self.scaler.as_mut().expect("scaler set above");
            scaler
                .context
                .run(&self.decoded, &mut scaler.output)
                .map_err(|e| Error::InvalidVideo {
                    path: self.path.clone(),
                    reason: format!("pixel format conversion failed: {e}"),
                })?;
            copy_planes(&scaler.output, format, width, height)
        };
        let planes =
            planes.ok_or_else(|| self.invalid("decoded frame is smaller than stated".into()))?;
        Ok(VideoFrame {
            format,
            planes,
            pts,
        })
    }
}

/// Copies three planes out of an AVFrame of `format`'s layout, honouring the line sizes.
/// `None` if the frame's buffers are smaller than the format implies.
fn copy_planes(
    src: &frame::Video,
    format: PixelFormat,
    width: usize,
    height: usize,
) -> Option<Planes> {
    if src.planes() < 3 {
        return None;
    }
    let (cw, ch) = format.chroma_size(width, height);
    let dims = [(width, height), (cw, ch), (cw, ch)];
    let bytes_per_sample = if format.bit_depth() == 8 { 1 } else { 2 };
    let rows_of = |i: usize| -> Option<Vec<&[u8]>> {
        let (w, h) = dims[i];
        let data = src.data(i);
        let stride = src.stride(i);
        let row_bytes = w * bytes_per_sample;
        (0..h)
            .map(|y| data.get(y * stride..y * stride + row_bytes))
            .collect()
    };
    if format.bit_depth() == 8 {
        let mut planes = Vec::with_capacity(3);
        for (i, &(w, h)) in dims.iter().enumerate() {
            let rows = rows_of(i)?;
            let mut v = Vec::with_capacity(w * h);
            for row in rows {
                v.extend_from_slice(row);
            }
            planes.push(Array2::from_shape_vec((h, w), v).ok()?);
        }
        let [y, u, v]: [Array2<u8>; 3] = planes.try_into().ok()?;
        Some(Planes::Eight([y, u, v]))
    } else {
        let mut planes = Vec::with_capacity(3);
        for (i, &(w, h)) in dims.iter().enumerate() {
            let rows = rows_of(i)?;
            let mut v = Vec::with_capacity(w * h);
            for row in rows {
                v.extend(
                    row.chunks_exact(2)
                        .map(|b| u16::from_le_bytes([b[0], b[1]])),
                );
            }
            planes.push(Array2::from_shape_vec((h, w), v).ok()?);
        }
        let [y, u, v]: [Array2<u16>; 3] = planes.try_into().ok()?;
        Some(Planes::High([y, u, v]))
    }
}

impl FrameSource for FfmpegReader {
    fn info(&self) -> &StreamInfo {
        &self.info
    }

    fn next_frame(&mut self) -> Result<Option<VideoFrame>> {
        while let Some(first) = self.skip_before {
            if !self.decode_next()? {
                break;
            }
            match self.decoded.timestamp() {
                Some(pts) if pts < first => continue,
                Some(_) => {
                    self.skip_before = None;
                    return self.deliver().map(Some);
                }
                None => {
                    return Err(self.invalid("cannot seek: its frames carry no time stamps".into()));
                }
            }
        }
        if !self.decode_next()? {
            if self.frames_read == 0 && !self.reported_no_frames {
                self.reported_no_frames = true;
                return Err(Error::NoFrames {
                    path: self.path.clone(),
                });
            }
            return Ok(None);
        }
        self.deliver().map(Some)
    }
}

impl FfmpegReader {
    /// The decoded frame as a [`VideoFrame`], counted.
    fn deliver(&mut self) -> Result<VideoFrame> {
        if self.refuse_interlaced && self.decoded.is_interlaced() {
            let order = match self.decoded.is_top_first() {
                true => FieldOrder::TopFieldFirst,
                false => FieldOrder::BottomFieldFirst,
            };
            return Err(Error::Interlaced {
                path: self.path.clone(),
                order: order.describe(),
            });
        }
        let frame = self.convert()?;
        self.frames_read = self.frames_read.saturating_add(1);
        Ok(frame)
    }
}

/// A stream copied from the original file into the output.
struct CopiedStream {
    out_index: usize,
    in_time_base: ff::Rational,
    out_time_base: ff::Rational,
    /// Set for audio the container cannot hold as it is: its packets are re-encoded.
    transcoder: Option<AacTranscoder>,
}

/// The second demuxer that feeds audio and subtitle packets to the output (re-encoding the
/// audio the container cannot hold, see [`AacTranscoder`]).
struct StreamCopy {
    input: format::context::Input,
    /// Input stream index -> where its packets go.
    map: Vec<Option<CopiedStream>>,
    /// A packet read but not yet due.
    pending: Option<ff::Packet>,
    done: bool,
}

/// Encodes frames into a video file with one of the [`Codec`]s, optionally copying the audio
/// and subtitle streams of the original file. The file appears at its path only when `finish`
/// succeeds.
pub struct FfmpegWriter {
    path: PathBuf,
    info: StreamInfo,
    output: format::context::Output,
    encoder: encoder::Video,
    /// Converts frames to the output's pixel format when it differs from `info.format`.
    scaler: Option<Scaler>,
    encoder_time_base: ff::Rational,
    video_out_time_base: ff::Rational,
    /// One frame in the encoder time base.
    frame_duration: i64,
    copy: Option<StreamCopy>,
    skipped: Vec<String>,
    frames_written: u64,
    last_pts: Option<i64>,
    /// Every this many frames an IDR frame starts a closed GOP (a segment).
    keyframe_interval: Option<u64>,
    /// Declared last: deleted (if not persisted) after FFmpeg has closed it.
    temp: TempOutput,
}

impl std::fmt::Debug for FfmpegWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FfmpegWriter")
            .field("path", &self.path)
            .field("info", &self.info)
            .field("frames_written", &self.frames_written)
            .field("skipped", &self.skipped)
            .finish_non_exhaustive()
    }
}

/// Sets an integer AVOption (colour enums) on a codec context; FFmpeg range-checks it.
fn set_int_option(context: &mut codec::Context, name: &CStr, value: i32) -> bool {
    // SAFETY: the context pointer is valid and AVCodecContext is an AVOptions-enabled struct.
    unsafe {
        ffi::av_opt_set_int(
            context.as_mut_ptr() as *mut c_void,
            name.as_ptr(),
            i64::from(value),
            0,
        ) >= 0
    }
}

/// The muxer FFmpeg picks for `path` from its extension.
fn guess_container(path: &Path) -> Option<*const ffi::AVOutputFormat> {
    let name = std::ffi::CString::new(path.file_name()?.to_str()?).ok()?;
    // SAFETY: a valid C string; the result is a static muxer description or null.
    let format = unsafe { ffi::av_guess_format(std::ptr::null(), name.as_ptr(), std::ptr::null()) };
    (!format.is_null()).then_some(format)
}

/// Whether the muxer can hold streams of `id`; `None` when it does not say.
fn container_holds(format: *const ffi::AVOutputFormat, id: codec::Id) -> Option<bool> {
    // SAFETY: a valid muxer description from av_guess_format or an output context.
    match unsafe { ffi::avformat_query_codec(format, id.into(), ffi::FF_COMPLIANCE_NORMAL) } {
        1 => Some(true),
        0 => Some(false),
        _ => None,
    }
}

/// Checks that a file at `path` can be written from frames of `source` with `options`, and
/// returns the pixel format its video will have: `options.pix_fmt`, else `source` where the
/// encoder takes it, else the encoder's closest format. Every failure is an [`Error::Encode`]
/// saying what to change (codec, container, pixel format, CRF or preset).
pub fn output_format(
    path: &Path,
    source: PixelFormat,
    options: &EncodeOptions,
) -> Result<PixelFormat> {
    plan_encoding(path, source, options).map(|(_, format)| format)
}

/// [`output_format`], with the encoder that will write it.
fn plan_encoding(
    path: &Path,
    source: PixelFormat,
    options: &EncodeOptions,
) -> Result<(ff::Codec, PixelFormat)> {
    init();
    let fail = |reason: String| Error::Encode {
        path: path.to_path_buf(),
        reason,
    };
    options.validate().map_err(&fail)?;
    let name = options.codec.encoder_name();
    let container = guess_container(path)
        .ok_or_else(|| fail("FFmpeg cannot write this kind of file (from its extension)".into()))?;
    let video_codec = encoder::find_by_name(name).ok_or_else(|| {
        fail(format!(
            "encoder {name} is not available in this FFmpeg build"
        ))
    })?;
    if container_holds(container, video_codec.id()) == Some(false) {
        let fits: Vec<String> = ["mov", "mkv", "mp4", "webm", "mxf"]
            .into_iter()
            .filter(|ext| {
                guess_container(Path::new(&format!("x.{ext}")))
                    .is_some_and(|c| container_holds(c, video_codec.id()) == Some(true))
            })
            .map(|ext| format!(".{ext}"))
            .collect();
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy())
            .unwrap_or_default();
        return Err(fail(format!(
            "{name} video cannot go in a .{ext} file (use {})",
            fits.join(" or ")
        )));
    }
    let takes: Vec<PixelFormat> = video_codec
        .video()
        .ok()
        .and_then(|v| v.formats())
        .map(|formats| {
            let formats: Vec<Pixel> = formats.collect();
            PixelFormat::ALL
                .into_iter()
                .filter(|f| formats.contains(&ffmpeg_pixel(*f)))
                .collect()
        })
        .unwrap_or_else(|| PixelFormat::ALL.to_vec());
    let names = || {
        takes
            .iter()
            .map(|f| f.name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let format = match options.pix_fmt {
        Some(wanted) if takes.contains(&wanted) => Ok(wanted),
        Some(wanted) => Err(fail(format!(
            "{name} cannot encode {} (it takes {})",
            wanted.name(),
            names()
        ))),
        None if takes.contains(&source) => Ok(source),
        None => closest_format(source, &takes).ok_or_else(|| {
            fail(format!(
                "{name} takes none of the pixel formats Filigree writes"
            ))
        }),
    }?;
    Ok((video_codec, format))
}

/// Whether `codec` can encode 8-bit 4:2:0 here: FFmpeg has the encoder and it opens (a
/// hardware encoder also needs its device and driver, which only opening it tells).
pub fn encoder_opens(codec: Codec) -> bool {
    let options = EncodeOptions {
        codec,
        pix_fmt: Some(PixelFormat::Yuv420p),
        ..EncodeOptions::default()
    };
    let Ok((video_codec, format)) =
        plan_encoding(Path::new("probe.mp4"), PixelFormat::Yuv420p, &options)
    else {
        return false;
    };
    let Ok(mut video) = codec::context::Context::new_with_codec(video_codec)
        .encoder()
        .video()
    else {
        return false;
    };
    video.set_width(256);
    video.set_height(144);
    video.set_format(ffmpeg_pixel(format));
    video.set_time_base(ff::Rational::new(1, 25));
    video.set_frame_rate(Some(ff::Rational::new(25, 1)));
    let mut opts = ff::Dictionary::new();
    for (name, value) in options.encoder_options(format) {
        opts.set(name, &value);
    }
    video.open_with(opts).is_ok()
}

/// The format of `candidates` that loses least of `source` (FFmpeg's own choice).
fn closest_format(source: PixelFormat, candidates: &[PixelFormat]) -> Option<PixelFormat> {
    let list: Vec<ffi::AVPixelFormat> = candidates
        .iter()
        .map(|f| ffmpeg_pixel(*f).into())
        .chain([ffi::AVPixelFormat::AV_PIX_FMT_NONE])
        .collect();
    let mut loss = 0;
    // SAFETY: `list` is terminated by AV_PIX_FMT_NONE as FFmpeg requires.
    let best = unsafe {
        ffi::avcodec_find_best_pix_fmt_of_list(
            list.as_ptr(),
            ffmpeg_pixel(source).into(),
            0,
            &mut loss,
        )
    };
    candidates
        .iter()
        .copied()
        .find(|f| ffi::AVPixelFormat::from(ffmpeg_pixel(*f)) == best)
}

/// How the written video is laid out, apart from the codec settings: for streaming
/// renditions (two-step packages) the size, a fixed GOP and a fragmented MP4.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutputShape {
    /// Scale frames to this size (even numbers) before encoding; `None` keeps theirs.
    pub size: Option<(usize, usize)>,
    /// An IDR frame, starting a closed GOP, exactly every this many frames and nowhere else
    /// (scene cuts place none), so outputs of the same settings cut into interchangeable
    /// segments.
    pub keyframe_interval: Option<u64>,
    /// Write a fragmented MP4 (an empty `moov`, then one `moof`+`mdat` per GOP, base data
    /// offsets relative to each `moof`): what CMAF segments are cut from.
    pub fragmented: bool,
}

impl FfmpegWriter {
    /// Prepares to write `path` (container from the extension) with video described by
    /// `info`, encoded per `options` in the pixel format [`output_format`] picks (frames are
    /// given in `info.format` and converted); with `copy_streams_from`, the audio and
    /// subtitle streams of that file are copied alongside (those the container cannot hold
    /// are skipped, see [`FfmpegWriter::skipped_streams`]). Does not check whether `path`
    /// exists: an existing file is replaced when `finish` succeeds.
    pub fn create(
        path: &Path,
        info: &StreamInfo,
        options: &EncodeOptions,
        copy_streams_from: Option<&Path>,
    ) -> Result<FfmpegWriter> {
        FfmpegWriter::create_shaped(
            path,
            info,
            options,
            copy_streams_from,
            &OutputShape::default(),
        )
    }

    /// [`FfmpegWriter::create`] with the video laid out per `shape`.
    pub fn create_shaped(
        path: &Path,
        info: &StreamInfo,
        options: &EncodeOptions,
        copy_streams_from: Option<&Path>,
        shape: &OutputShape,
    ) -> Result<FfmpegWriter> {
        init();
        let fail = |reason: String| Error::Encode {
            path: path.to_path_buf(),
            reason,
        };
        if !is_valid_rate(to_ff(info.frame_rate)) {
            return Err(fail(format!(
                "cannot encode with frame rate {}/{}",
                info.frame_rate.num, info.frame_rate.den
            )));
        }
        if info.width == 0 || info.height == 0 {
            return Err(fail(format!(
                "cannot encode {}x{} frames",
                info.width, info.height
            )));
        }
        let (video_codec, out_format) = plan_encoding(path, info.format, options)?;
        let encoder_name = options.codec.encoder_name();
        let (out_width, out_height) = shape.size.unwrap_or((info.width, info.height));
        // Encoders refuse a chroma plane of fractional size (FFmpeg's message is vague).
        let (sx, sy) = out_format.subsampling();
        let odd_width = sx == 2 && out_width & 1 == 1;
        let odd_height = sy == 2 && out_height & 1 == 1;
        if odd_width || odd_height || out_width == 0 || out_height == 0 {
            return Err(fail(format!(
                "{encoder_name} cannot encode {} at {}x{}: its chroma subsampling needs an even {}",
                out_format.name(),
                out_width,
                out_height,
                if odd_width { "width" } else { "height" }
            )));
        }
        let resized = (out_width, out_height) != (info.width, info.height);
        let scaler = (out_format != info.format || resized)
            .then(|| {
                scaling::Context::get(
                    ffmpeg_pixel(info.format),
                    info.width as u32,
                    info.height as u32,
                    ffmpeg_pixel(out_format),
                    out_width as u32,
                    out_height as u32,
                    // Chroma resampled and sizes changed bicubic, depth changed dithered.
                    scaling::Flags::BICUBIC | scaling::Flags::ACCURATE_RND,
                )
                .map(|context| Scaler {
                    context,
                    output: frame::Video::empty(),
                })
                .map_err(|e| {
                    fail(format!(
                        "cannot convert {} to {}: {e}",
                        info.format.name(),
                        out_format.name()
                    ))
                })
            })
            .transpose()?;

        let temp = TempOutput::beside(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let url = ffmpeg_url(temp.path()).map_err(&fail)?;

        let mut output = open_output(&url, path)?;
        let global_header = output
            .format()
            .flags()
            .contains(format::Flags::GLOBAL_HEADER);

        // Time base: the input stream's, so frames keep their time stamps exactly.
        let frame_rate = to_ff(info.frame_rate);
        let encoder_time_base = if is_valid_rate(to_ff(info.time_base)) {
            to_ff(info.time_base)
        } else {
            frame_rate.invert()
        };
        let frame_duration = 1i64.rescale(frame_rate.invert(), encoder_time_base).max(1);

        let mut context = codec::context::Context::new_with_codec(video_codec);
        context.set_threading(ff::threading::Config {
            kind: ff::threading::Type::Frame,
            count: thread_count(),
            ..Default::default()
        });
        let color = info.color;
        for (name, value, unspecified) in [
            (c"color_primaries", color.primaries, [0, COL_UNSPECIFIED]),
            (c"color_trc", color.transfer, [0, COL_UNSPECIFIED]),
            // 0 (RGB/identity) is meaningless for Y'CbCr output: treated as unspecified.
            (c"colorspace", color.matrix, [0, COL_UNSPECIFIED]),
            (
                c"color_range",
                color.range,
                [RANGE_UNSPECIFIED, RANGE_UNSPECIFIED],
            ),
        ] {
            if !unspecified.contains(&value) && !set_int_option(&mut context, name, value) {
                return Err(fail(format!(
                    "invalid colour value {value} for {}",
                    name.to_string_lossy()
                )));
            }
        }
        let mut video = context
            .encoder()
            .video()
            .map_err(|e| fail(format!("cannot set up {encoder_name}: {e}")))?;
        video.set_width(out_width as u32);
        video.set_height(out_height as u32);
        video.set_format(ffmpeg_pixel(out_format));
        video.set_time_base(encoder_time_base);
        video.set_frame_rate(Some(frame_rate));
        if global_header {
            video.set_flags(codec::Flags::GLOBAL_HEADER);
        }
        let mut opts = ff::Dictionary::new();
        let mut settings = options.encoder_options(out_format);
        if let Some(interval) = shape.keyframe_interval {
            video.set_gop(interval.min(u32::MAX as u64) as u32);
            match options.codec {
                Codec::X264 => settings.push((
                    "x264-params",
                    format!("keyint={interval}:min-keyint={interval}:scenecut=0:open-gop=0"),
                )),
                Codec::Nvenc => {
                    settings.push(("no-scenecut", "1".into()));
                    settings.push(("strict_gop", "1".into()));
                }
                _ => {
                    return Err(fail(format!(
                        "fixed-GOP segments are made with libx264 or h264_nvenc only, not {encoder_name}"
                    )));
                }
            }
            settings.push(("forced-idr", "1".into()));
        }
        for (name, value) in &settings {
            opts.set(name, value);
        }
        let encoder = video.open_with(opts).map_err(|e| {
            let settings: Vec<String> = settings
                .iter()
                .filter(|(name, _)| ["crf", "preset", "cpu-used", "profile"].contains(name))
                .map(|(name, value)| format!("{name} {value}"))
                .collect();
            fail(format!(
                "cannot open encoder {encoder_name} for {} {}x{} ({}): {e}",
                out_format.name(),
                info.width,
                info.height,
                settings.join(", ")
            ))
        })?;

        // The streams to copy, and notes on those left out.
        let mut skipped = Vec::new();
        let mut copy = None;
        let mut transcoders: Vec<(usize, AacTranscoder)> = Vec::new();
        if let Some(source) = copy_streams_from {
            let source_url = ffmpeg_url(source).map_err(|reason| Error::InvalidVideo {
                path: source.to_path_buf(),
                reason,
            })?;
            let input = format::input(&source_url).map_err(|e| Error::InvalidVideo {
                path: source.to_path_buf(),
                reason: e.to_string(),
            })?;
            let main_video = pick_video_stream(&input);
            let mut wanted = Vec::new();
            for stream in input.streams() {
                let index = stream.index();
                if Some(index) == main_video {
                    continue;
                }
                let parameters = stream.parameters();
                let medium = parameters.medium();
                let id = parameters.id();
                let what = format!(
                    "stream #{index} ({}, {})",
                    medium_name(medium),
                    codec_name(id)
                );
                if is_timecode_track(&stream) && info.timecode.is_some() {
                    continue; // written anew from the video stream's timecode tag
                }
                if medium != media::Type::Audio && medium != media::Type::Subtitle {
                    skipped.push(format!(
                        "{what}: only audio and subtitle streams are copied"
                    ));
                    continue;
                }
                // SAFETY: the output format pointer is valid for the context's lifetime.
                let supported = unsafe {
                    ffi::avformat_query_codec(
                        output.format().as_ptr(),
                        id.into(),
                        ffi::FF_COMPLIANCE_NORMAL,
                    )
                };
                let container = output.format().name().to_string();
                if medium == media::Type::Audio && supported == 0 {
                    // SAFETY: the output format pointer is valid for the context's lifetime.
                    let muxer = unsafe { output.format().as_ptr() };
                    let fits_aac = container_holds(muxer, codec::Id::AAC) == Some(true);
                    match fits_aac.then(|| AacTranscoder::new(&stream, global_header)) {
                        Some(Ok(transcoder)) => transcoders.push((index, transcoder)),
                        Some(Err(why)) => skipped.push(format!(
                            "{what}: the {container} container cannot hold it, and {why}"
                        )),
                        None => skipped
                            .push(format!("{what}: the {container} container cannot hold it")),
                    }
                    continue;
                }
                if supported == 0 || id == codec::Id::None {
                    skipped.push(format!("{what}: the {container} container cannot hold it"));
                    continue;
                }
                wanted.push(index);
            }
            copy = Some((input, wanted));
        }

        // Add the streams and write the header; if the muxer refuses the copied streams after
        // all, start again with the video alone and say so.
        let copy_list: Vec<usize> = copy.as_ref().map(|(_, w)| w.clone()).unwrap_or_default();
        let mut map = add_streams(
            &mut output,
            video_codec,
            &encoder,
            info,
            encoder_time_base,
            copy.as_ref().map(|(input, _)| input),
            &copy_list,
        )
        .map_err(|e| fail(format!("cannot add output streams: {e}")))?;
        for (index, transcoder) in &transcoders {
            let mut ost = output
                .add_stream(encoder::find(codec::Id::AAC))
                .map_err(|e| fail(format!("cannot add output streams: {e}")))?;
            ost.set_parameters(transcoder.encoder());
            ost.set_time_base(transcoder.time_base());
            if let Some(ist) = copy.as_ref().and_then(|(input, _)| input.stream(*index)) {
                ost.set_metadata(ist.metadata().to_owned());
                // SAFETY: both streams are valid; keeps default/forced flags.
                unsafe { (*ost.as_mut_ptr()).disposition = (*ist.as_ptr()).disposition };
            }
            map[*index] = Some(ost.index());
        }
        let header_options = || {
            let mut options = ff::Dictionary::new();
            if shape.fragmented {
                options.set(
                    "movflags",
                    "+frag_keyframe+empty_moov+default_base_moof+negative_cts_offsets",
                );
            }
            options
        };
        // The options FFmpeg did not take come back borrowed from the output; none matter.
        let header = output.write_header_with(header_options()).map(drop);
        if let Err(first) = header {
            if copy_list.is_empty() && transcoders.is_empty() {
                return Err(fail(format!("cannot write the file header: {first}")));
            }
            transcoders.clear();
            for &index in &copy_list {
                skipped.push(format!(
                    "stream #{index}: the {} muxer refused it ({first})",
                    output.format().name()
                ));
            }
            drop(output);
            output = open_output(&url, path)?;
            map = add_streams(
                &mut output,
                video_codec,
                &encoder,
                info,
                encoder_time_base,
                None,
                &[],
            )
            .map_err(|e| fail(format!("cannot add output streams: {e}")))?;
            output
                .write_header_with(header_options())
                .map(drop)
                .map_err(|e| fail(format!("cannot write the file header: {e}")))?;
        }
        let video_out_time_base = output
            .stream(0)
            .map(|s| s.time_base())
            .ok_or_else(|| fail("video stream missing after header".into()))?;

        let copy = match copy {
            Some((mut input, _)) if map.iter().any(Option::is_some) => {
                let mut streams = Vec::with_capacity(map.len());
                for (index, out) in map.iter().enumerate() {
                    let entry = out.map(|out_index| CopiedStream {
                        out_index,
                        in_time_base: input
                            .stream(index)
                            .map(|s| s.time_base())
                            .unwrap_or(ff::Rational::new(1, 1)),
                        out_time_base: output
                            .stream(out_index)
                            .map(|s| s.time_base())
                            .unwrap_or(ff::Rational::new(1, 1)),
                        transcoder: transcoders
                            .iter()
                            .position(|(i, _)| *i == index)
                            .map(|at| transcoders.swap_remove(at).1),
                    });
                    if entry.is_none() {
                        discard_stream(&mut input, index);
                    }
                    streams.push(entry);
                }
                Some(StreamCopy {
                    input,
                    map: streams,
                    pending: None,
                    done: false,
                })
            }
            _ => None,
        };

        Ok(FfmpegWriter {
            path: path.to_path_buf(),
            info: info.clone(),
            output,
            encoder,
            scaler,
            encoder_time_base,
            video_out_time_base,
            frame_duration,
            copy,
            skipped,
            frames_written: 0,
            last_pts: None,
            keyframe_interval: shape.keyframe_interval,
            temp,
        })
    }

    /// Streams of `copy_streams_from` that were not copied, one line each (index, kind, codec
    /// and why), for the user.
    pub fn skipped_streams(&self) -> &[String] {
        &self.skipped
    }

    fn fail(&self, reason: String) -> Error {
        Error::Encode {
            path: self.path.clone(),
            reason,
        }
    }

    /// Writes the packets the encoder has ready.
    fn drain_encoder(&mut self) -> Result<()> {
        let mut packet = ff::Packet::empty();
        loop {
            match self.encoder.receive_packet(&mut packet) {
                Ok(()) => {}
                Err(ff::Error::Eof) => return Ok(()),
                Err(ff::Error::Other { errno }) if errno == ffi::EAGAIN => return Ok(()),
                Err(e) => return Err(self.fail(format!("encoding failed: {e}"))),
            }
            packet.set_stream(0);
            if packet.duration() <= 0 {
                packet.set_duration(self.frame_duration);
            }
            packet.rescale_ts(self.encoder_time_base, self.video_out_time_base);
            packet.set_position(-1);
            if let Some(ts) = packet.dts().or(packet.pts()) {
                let seconds = ts as f64 * f64::from(self.video_out_time_base);
                self.copy_packets(Some(seconds))?;
            }
            packet
                .write_interleaved(&mut self.output)
                .map_err(|e| self.fail(format!("cannot write video: {e}")))?;
        }
    }

    /// Copies packets of the audio/subtitle streams up to `until` seconds (all when `None`).
    fn copy_packets(&mut self, until: Option<f64>) -> Result<()> {
        let Some(copy) = self.copy.as_mut() else {
            return Ok(());
        };
        loop {
            let mut packet = match copy.pending.take() {
                Some(p) => p,
                None => {
                    if copy.done {
                        return Ok(());
                    }
                    let mut p = ff::Packet::empty();
                    match p.read(&mut copy.input) {
                        Ok(()) => p,
                        Err(ff::Error::InvalidData) => continue,
                        // End of file, or a read error in a damaged file: the copied
                        // streams end here; the video is unaffected.
                        Err(_) => {
                            copy.done = true;
                            return Ok(());
                        }
                    }
                }
            };
            let Some(Some(target)) = copy.map.get_mut(packet.stream()) else {
                continue;
            };
            if let (Some(limit), Some(ts)) = (until, packet.dts().or(packet.pts())) {
                let seconds = ts as f64 * f64::from(target.in_time_base);
                if seconds > limit {
                    copy.pending = Some(packet);
                    return Ok(());
                }
            }
            let fail = |reason: String| Error::Encode {
                path: self.path.clone(),
                reason,
            };
            let Some(transcoder) = target.transcoder.as_mut() else {
                packet.rescale_ts(target.in_time_base, target.out_time_base);
                packet.set_stream(target.out_index);
                packet.set_position(-1);
                packet.write_interleaved(&mut self.output).map_err(|e| {
                    fail(format!(
                        "cannot copy a packet of an audio/subtitle stream: {e}"
                    ))
                })?;
                continue;
            };
            let mut encoded = Vec::new();
            transcoder
                .push(&packet, &mut encoded)
                .map_err(|e| fail(format!("stream #{}: {e}", packet.stream())))?;
            let time_base = transcoder.time_base();
            write_encoded(&mut self.output, encoded, time_base, target)
                .map_err(|e| fail(format!("cannot write re-encoded audio: {e}")))?;
        }
    }

    /// Encodes the audio still inside the transcoders.
    fn finish_transcoders(&mut self) -> Result<()> {
        let Some(copy) = self.copy.as_mut() else {
            return Ok(());
        };
        for target in copy.map.iter_mut().flatten() {
            let Some(transcoder) = target.transcoder.as_mut() else {
                continue;
            };
            let mut encoded = Vec::new();
            let fail = |reason: String| Error::Encode {
                path: self.path.clone(),
                reason,
            };
            transcoder
                .finish(&mut encoded)
                .map_err(|e| fail(format!("audio: {e}")))?;
            let time_base = transcoder.time_base();
            write_encoded(&mut self.output, encoded, time_base, target)
                .map_err(|e| fail(format!("cannot write re-encoded audio: {e}")))?;
        }
        Ok(())
    }

    fn finish_inner(mut self) -> Result<()> {
        match self.encoder.send_eof() {
            Ok(()) | Err(ff::Error::Eof) => {}
            Err(e) => return Err(self.fail(format!("cannot flush the encoder: {e}"))),
        }
        self.drain_encoder()?;
        self.copy_packets(None)?;
        self.finish_transcoders()?;
        self.output
            .write_trailer()
            .map_err(|e| self.fail(format!("cannot finish the file: {e}")))?;
        let FfmpegWriter {
            path, output, temp, ..
        } = self;
        // Close FFmpeg's handle (flushes its buffer) before the file takes its name.
        drop(output);
        temp.persist(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        Ok(())
    }
}

/// Writes packets a transcoder made (time stamps in `time_base`) to `target`'s stream.
fn write_encoded(
    output: &mut format::context::Output,
    packets: Vec<ff::Packet>,
    time_base: ff::Rational,
    target: &CopiedStream,
) -> std::result::Result<(), ff::Error> {
    for mut packet in packets {
        packet.rescale_ts(time_base, target.out_time_base);
        packet.set_stream(target.out_index);
        packet.set_position(-1);
        packet.write_interleaved(output)?;
    }
    Ok(())
}

/// Allocates the output context for `url` (the temporary file of `path`).
fn open_output(url: &str, path: &Path) -> Result<format::context::Output> {
    format::output(url).map_err(|e| Error::Encode {
        path: path.to_path_buf(),
        reason: format!("FFmpeg cannot write this kind of file (from its extension): {e}"),
    })
}

/// Adds the video stream (index 0, tagged with the source's start timecode) and copies of
/// `copy_list`'s streams; returns, per input stream of `copy_input`, the output index its
/// packets go to.
fn add_streams(
    output: &mut format::context::Output,
    video_codec: ff::Codec,
    encoder: &encoder::Video,
    info: &StreamInfo,
    time_base: ff::Rational,
    copy_input: Option<&format::context::Input>,
    copy_list: &[usize],
) -> std::result::Result<Vec<Option<usize>>, ff::Error> {
    let is_mov = matches!(output.format().name(), "mp4" | "mov");
    let is_mxf = output.format().name().starts_with("mxf");
    let mut ost = output.add_stream(video_codec)?;
    ost.set_parameters(encoder);
    if is_mov && encoder.id() == codec::Id::HEVC {
        // `hvc1` (parameter sets in the sample description) is the tag Apple's players
        // require; FFmpeg's default `hev1` plays elsewhere only.
        let hvc1 = u32::from_le_bytes(*b"hvc1");
        // SAFETY: plain field of the stream's codec parameters.
        unsafe { (*ost.parameters().as_mut_ptr()).codec_tag = hvc1 };
    }
    let frame_rate = to_ff(info.frame_rate);
    // MXF takes its edit rate from the stream's time base, which must then be one frame.
    let time_base = match is_mxf {
        true => frame_rate.invert(),
        false => time_base,
    };
    ost.set_time_base(time_base);
    ost.set_avg_frame_rate(frame_rate);
    ost.set_rate(frame_rate);
    if let Some(timecode) = info.timecode {
        let mut tags = ff::Dictionary::new();
        tags.set("timecode", &timecode.to_string());
        ost.set_metadata(tags);
    }

    let Some(input) = copy_input else {
        return Ok(Vec::new());
    };
    let mut map = vec![None; input.nb_streams() as usize];
    for &index in copy_list {
        let Some(ist) = input.stream(index) else {
            continue;
        };
        let mut ost = output.add_stream(encoder::find(codec::Id::None))?;
        ost.set_parameters(ist.parameters());
        ost.set_time_base(ist.time_base());
        ost.set_metadata(ist.metadata().to_owned());
        // SAFETY: both streams are valid; codec_tag 0 lets the muxer choose its own tag
        // (needed when the container changes), disposition keeps default/forced flags.
        unsafe {
            (*ost.parameters().as_mut_ptr()).codec_tag = 0;
            (*ost.as_mut_ptr()).disposition = (*ist.as_ptr()).disposition;
        }
        map[index] = Some(ost.index());
    }
    output.set_metadata(input.metadata().to_owned());
    Ok(map)
}

impl FrameSink for FfmpegWriter {
    fn write_frame(&mut self, frame: &VideoFrame) -> Result<()> {
        let (width, height) = (frame.width(), frame.height());
        Error::check_frame_size((width, height), (self.info.width, self.info.height))?;
        if frame.format != self.info.format {
            return Err(self.fail(format!(
                "frame is {} but the output was set up for {}",
                frame.format.name(),
                self.info.format.name()
            )));
        }
        check_planes(&frame.planes, frame.format, width, height)
            .map_err(|reason| self.fail(format!("bad frame: {reason}")))?;
        let mut out = frame::Video::new(ffmpeg_pixel(frame.format), width as u32, height as u32);
        fill_planes(&mut out, &frame.planes)
            .map_err(|reason| self.fail(format!("bad frame: {reason}")))?;

        // Time stamps as given; a missing or non-increasing one becomes the next frame slot.
        let counter = (self.frames_written as i64)
            .rescale(to_ff(self.info.frame_rate).invert(), self.encoder_time_base);
        let pts = match (frame.pts, self.last_pts) {
            (Some(p), Some(last)) if p > last => p,
            (Some(p), None) => p,
            (Some(_), Some(last)) => last + self.frame_duration,
            (None, Some(last)) => counter.max(last + 1),
            (None, None) => counter,
        };
        self.last_pts = Some(pts);
        let fail = |reason: String| Error::Encode {
            path: self.path.clone(),
            reason,
        };
        let encoded = match self.scaler.as_mut() {
            Some(scaler) => {
                scaler
                    .context
                    .run(&out, &mut scaler.output)
                    .map_err(|e| fail(format!("pixel format conversion failed: {e}")))?;
                &mut scaler.output
            }
            None => &mut out,
        };
        encoded.set_pts(Some(pts));
        let starts_gop = self
            .keyframe_interval
            .is_some_and(|n| self.frames_written.is_multiple_of(n));
        encoded.set_kind(if starts_gop {
            picture::Type::I
        } else {
            picture::Type::None
        });
        self.encoder
            .send_frame(encoded)
            .map_err(|e| fail(format!("encoding failed: {e}")))?;
        self.frames_written += 1;
        self.drain_encoder()
    }

    fn finish(self: Box<Self>) -> Result<()> {
        (*self).finish_inner()
    }
}

/// Copies our planes into an allocated AVFrame of the same layout, honouring line sizes.
/// Checks that the planes have the shapes and sample type `format` implies.
fn check_planes(
    planes: &Planes,
    format: PixelFormat,
    width: usize,
    height: usize,
) -> std::result::Result<(), String> {
    let (cw, ch) = format.chroma_size(width, height);
    let expected = [(height, width), (ch, cw), (ch, cw)];
    let dims = match planes {
        Planes::Eight(p) if format.bit_depth() == 8 => p.each_ref().map(|a| a.dim()),
        Planes::High(p) if format.bit_depth() > 8 => p.each_ref().map(|a| a.dim()),
        _ => {
            return Err(format!(
                "{} frame carries samples of the wrong bit depth",
                format.name()
            ));
        }
    };
    for (i, (got, want)) in dims.iter().zip(expected).enumerate() {
        if *got != want {
            return Err(format!(
                "plane {i} of a {width}x{height} {} frame is {}x{}, expected {}x{}",
                format.name(),
                got.1,
                got.0,
                want.1,
                want.0
            ));
        }
    }
    Ok(())
}

fn fill_planes(out: &mut frame::Video, planes: &Planes) -> std::result::Result<(), String> {
    for i in 0..3 {
        let stride = out.stride(i);
        let data = out.data_mut(i);
        match planes {
            Planes::Eight(p) => {
                let plane = &p[i];
                let w = plane.ncols();
                for (y, row) in plane.rows().into_iter().enumerate() {
                    let dst = data
                        .get_mut(y * stride..y * stride + w)
                        .ok_or_else(|| format!("plane {i} is larger than the frame"))?;
                    match row.as_slice() {
                        Some(src) => dst.copy_from_slice(src),
                        None => dst.iter_mut().zip(row.iter()).for_each(|(d, s)| *d = *s),
                    }
                }
            }
            Planes::High(p) => {
                let plane = &p[i];
                let w = plane.ncols();
                for (y, row) in plane.rows().into_iter().enumerate() {
                    let dst = data
                        .get_mut(y * stride..y * stride + 2 * w)
                        .ok_or_else(|| format!("plane {i} is larger than the frame"))?;
                    for (d, s) in dst.chunks_exact_mut(2).zip(row.iter()) {
                        d.copy_from_slice(&s.to_le_bytes());
                    }
                }
            }
        }
    }
    Ok(())
}

/// The audio of a stream rendition: what a package's playlists say about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudioTrack {
    pub channels: u16,
    pub rate: u32,
}

/// Encodes the first audio stream of `input` as AAC into a fragmented MP4 at `output`, a
/// fragment about every `fragment_seconds` (temp file + rename): the audio rendition of a
/// two-step package, encoded once for both variants (audio carries no mark). `None` when
/// `input` has no audio.
pub fn write_fragmented_aac(
    input: &Path,
    output: &Path,
    fragment_seconds: f64,
) -> Result<Option<AudioTrack>> {
    init();
    let invalid = |reason: String| Error::InvalidVideo {
        path: input.to_path_buf(),
        reason,
    };
    let fail = |reason: String| Error::Encode {
        path: output.to_path_buf(),
        reason,
    };
    let mut source =
        format::input(&ffmpeg_url(input).map_err(invalid)?).map_err(|e| invalid(e.to_string()))?;
    let Some(stream) = source.streams().best(media::Type::Audio) else {
        return Ok(None);
    };
    let index = stream.index();
    let mut transcoder = AacTranscoder::new(&stream, true).map_err(&fail)?;
    let track = AudioTrack {
        channels: transcoder.encoder().channels(),
        rate: transcoder.encoder().rate(),
    };
    let temp = TempOutput::beside(output).map_err(|source| Error::Io {
        path: output.to_path_buf(),
        source,
    })?;
    let mut muxer = open_output(&ffmpeg_url(temp.path()).map_err(&fail)?, output)?;
    let mut ost = muxer
        .add_stream(encoder::find(codec::Id::AAC))
        .map_err(|e| fail(format!("cannot add the audio stream: {e}")))?;
    ost.set_parameters(transcoder.encoder());
    ost.set_time_base(transcoder.time_base());
    let mut options = ff::Dictionary::new();
    options.set("movflags", "+empty_moov+default_base_moof");
    options.set(
        "frag_duration",
        &((fragment_seconds.max(0.1) * 1e6) as i64).to_string(),
    );
    muxer
        .write_header_with(options)
        .map(drop)
        .map_err(|e| fail(format!("cannot write the audio header: {e}")))?;
    let out_time_base = muxer
        .stream(0)
        .map(|s| s.time_base())
        .ok_or_else(|| fail("audio stream missing after header".into()))?;
    let in_time_base = transcoder.time_base();
    let write = |packets: &mut Vec<ff::Packet>, muxer: &mut format::context::Output| {
        for mut packet in packets.drain(..) {
            packet.rescale_ts(in_time_base, out_time_base);
            packet.set_stream(0);
            packet.set_position(-1);
            packet
                .write_interleaved(muxer)
                .map_err(|e| fail(format!("cannot write audio: {e}")))?;
        }
        Ok::<(), Error>(())
    };
    let mut packets = Vec::new();
    for (stream, packet) in source.packets() {
        if stream.index() == index {
            transcoder.push(&packet, &mut packets).map_err(&fail)?;
            write(&mut packets, &mut muxer)?;
        }
    }
    transcoder.finish(&mut packets).map_err(&fail)?;
    write(&mut packets, &mut muxer)?;
    muxer
        .write_trailer()
        .map_err(|e| fail(format!("cannot finish the audio: {e}")))?;
    drop(muxer);
    temp.persist(output).map_err(|source| Error::Io {
        path: output.to_path_buf(),
        source,
    })?;
    Ok(Some(track))
}

/// Writes the first stream of each of `inputs` into `output` by stream copy (no decoding),
/// packets interleaved by time (temp file + rename): a session's video and the package's
/// audio joined into one MP4.
pub fn remux(inputs: &[&Path], output: &Path) -> Result<()> {
    init();
    let fail = |reason: String| Error::Encode {
        path: output.to_path_buf(),
        reason,
    };
    let mut sources = Vec::new();
    for input in inputs {
        let url = ffmpeg_url(input).map_err(&fail)?;
        let source = format::input(&url).map_err(|e| Error::InvalidVideo {
            path: input.to_path_buf(),
            reason: e.to_string(),
        })?;
        if source.streams().next().is_none() {
            return Err(Error::InvalidVideo {
                path: input.to_path_buf(),
                reason: "has no streams".into(),
            });
        }
        sources.push(source);
    }
    let temp = TempOutput::beside(output).map_err(|source| Error::Io {
        path: output.to_path_buf(),
        source,
    })?;
    let mut muxer = open_output(&ffmpeg_url(temp.path()).map_err(&fail)?, output)?;
    let mut time_bases = Vec::new();
    for source in &sources {
        let stream = source.streams().next().expect("checked above");
        let mut ost = muxer
            .add_stream(encoder::find(codec::Id::None))
            .map_err(|e| fail(format!("cannot add a stream: {e}")))?;
        ost.set_parameters(stream.parameters());
        // SAFETY: the stream's codec parameters are valid; a zero tag lets the muxer pick.
        unsafe { (*(*ost.as_mut_ptr()).codecpar).codec_tag = 0 };
        time_bases.push(stream.time_base());
    }
    muxer
        .write_header()
        .map_err(|e| fail(format!("cannot write the header: {e}")))?;
    let out_time_bases: Vec<ff::Rational> = (0..sources.len())
        .map(|i| muxer.stream(i).map_or(time_bases[i], |s| s.time_base()))
        .collect();
    // The next packet of each input (first stream only); the earliest is written first.
    let mut next: Vec<Option<ff::Packet>> = Vec::new();
    for source in &mut sources {
        next.push(next_packet(source));
    }
    loop {
        let earliest = next
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.as_ref().map(|p| (i, p)))
            .min_by(|(i, a), (j, b)| {
                let at = |p: &ff::Packet, k: usize| {
                    p.dts().or(p.pts()).unwrap_or(0) as f64 * f64::from(time_bases[k])
                };
                at(a, *i).total_cmp(&at(b, *j))
            })
            .map(|(i, _)| i);
        let Some(i) = earliest else { break };
        let mut packet = next[i].take().expect("chosen");
        packet.rescale_ts(time_bases[i], out_time_bases[i]);
        packet.set_stream(i);
        packet.set_position(-1);
        packet
            .write_interleaved(&mut muxer)
            .map_err(|e| fail(format!("cannot write: {e}")))?;
        next[i] = next_packet(&mut sources[i]);
    }
    muxer
        .write_trailer()
        .map_err(|e| fail(format!("cannot finish the file: {e}")))?;
    drop(muxer);
    temp.persist(output).map_err(|source| Error::Io {
        path: output.to_path_buf(),
        source,
    })
}

/// The next packet of `source`'s first stream.
fn next_packet(source: &mut format::context::Input) -> Option<ff::Packet> {
    source
        .packets()
        .find(|(stream, _)| stream.index() == 0)
        .map(|(_, packet)| packet)
}
