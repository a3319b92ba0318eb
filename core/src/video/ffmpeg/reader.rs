//! Decoding: [`FfmpegReader`] delivers the video stream's frames in display order, in
//! Filigree's planar layouts (converted by swscale where the source's format is not one).

use std::path::{Path, PathBuf};

use ff::software::scaling;
use ff::{codec, decoder, format, frame};
use ff::{ffi, format::Pixel};
use ffmpeg_next as ff;
use ndarray::Array2;

use super::super::{
    ColorInfo, FieldOrder, FrameSource, PixelFormat, Planes, Rational, StreamInfo, VideoFrame,
};
use super::probe::{codec_name, discard_stream, field_order, pick_video_stream, start_timecode};
use super::*;
use crate::error::{Error, Result, VideoError};

/// Consecutive decode errors tolerated without a frame before the reader gives up.
const MAX_CONSECUTIVE_DECODE_ERRORS: u32 = 1000;

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
    /// Errors: [`Error::Io`] when the file cannot be read at all, [`VideoError::InvalidVideo`] when
    /// FFmpeg cannot make sense of it (or has no decoder for its video),
    /// [`VideoError::NoVideoStream`], [`VideoError::UnsupportedPixelFormat`], and [`VideoError::NoFrames`]
    /// when not even the pixel format could be decoded.
    pub fn open(path: &Path) -> Result<FfmpegReader> {
        init();
        let invalid = |reason: String| {
            Error::Video(VideoError::InvalidVideo {
                path: path.to_path_buf(),
                reason,
            })
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

        let stream_index = pick_video_stream(&input).ok_or_else(|| {
            Error::Video(VideoError::NoVideoStream {
                path: path.to_path_buf(),
            })
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
            return Err(VideoError::NoFrames {
                path: path.to_path_buf(),
            }
            .into());
        }
        let (format, conversion) = plan_format(source_format).ok_or_else(|| {
            Error::Video(VideoError::UnsupportedPixelFormat {
                path: path.to_path_buf(),
                format: pixel_name(source_format),
            })
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

    /// From now on, fails with [`VideoError::Interlaced`] on interlaced video: at once when the
    /// stream declares a field order, else at the first frame the decoder flags interlaced.
    /// For marking, which works on whole progressive frames.
    pub fn refuse_interlaced(&mut self) -> Result<()> {
        self.refuse_interlaced = true;
        match self.info.interlaced {
            Some(order) => Err(VideoError::Interlaced {
                path: self.path.clone(),
                order: order.describe(),
            }
            .into()),
            None => Ok(()),
        }
    }

    /// Lets frames of another size than the stream's first through, each at its own size
    /// (a stream rip that switches renditions; the detector brings them to one plane).
    /// Without it such a frame is [`VideoError::FrameSizeChanged`]: an encoder fed from this
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
        VideoError::InvalidVideo {
            path: self.path.clone(),
            reason,
        }
        .into()
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
                .map_err(|_| {
                    Error::Video(VideoError::UnsupportedPixelFormat {
                        path: self.path.clone(),
                        format: pixel_name(src_format),
                    })
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
                .map_err(|e| {
                    Error::Video(VideoError::InvalidVideo {
                        path: self.path.clone(),
                        reason: format!("pixel format conversion failed: {e}"),
                    })
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
                return Err(VideoError::NoFrames {
                    path: self.path.clone(),
                }
                .into());
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
            return Err(VideoError::Interlaced {
                path: self.path.clone(),
                order: order.describe(),
            }
            .into());
        }
        let frame = self.convert()?;
        self.frames_read = self.frames_read.saturating_add(1);
        Ok(frame)
    }
}
