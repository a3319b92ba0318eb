//! Encoding: [`FfmpegWriter`] encodes frames into a file that appears at its path only when
//! `finish` succeeds, optionally with the original's audio and subtitles (see `copy`).

use std::path::{Path, PathBuf};

use ff::software::scaling;
use ff::{Rescale, codec, encoder, ffi, format, frame, picture};
use ffmpeg_next as ff;

use super::super::temp::TempOutput;
use super::super::{FrameSink, PixelFormat, Planes, StreamInfo, VideoFrame};
use super::copy::{CopyPlan, StreamCopy};
use super::plan::{plan_encoding, set_int_option};
use super::*;
use crate::error::{Error, Result, VideoError};

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
        let fail = |reason: String| {
            Error::Video(VideoError::Encode {
                path: path.to_path_buf(),
                reason,
            })
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
        let mut plan = copy_streams_from
            .map(|source| CopyPlan::choose(source, &output, info, global_header, &mut skipped))
            .transpose()?;

        // Add the streams and write the header; if the muxer refuses the copied streams after
        // all, start again with the video alone and say so.
        let add_streams = |output: &mut format::context::Output, plan: Option<&CopyPlan>| {
            add_video_stream(output, video_codec, &encoder, info, encoder_time_base)?;
            plan.map_or(Ok(Vec::new()), |plan| plan.add_streams(output))
        };
        let mut map = add_streams(&mut output, plan.as_ref())
            .map_err(|e| fail(format!("cannot add output streams: {e}")))?;
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
            let Some(refused) = plan.take().filter(|plan| !plan.is_empty()) else {
                return Err(fail(format!("cannot write the file header: {first}")));
            };
            for &index in refused.copied() {
                skipped.push(format!(
                    "stream #{index}: the {} muxer refused it ({first})",
                    output.format().name()
                ));
            }
            drop(output);
            output = open_output(&url, path)?;
            map = add_streams(&mut output, None)
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

        let copy = plan.and_then(|plan| plan.into_copy(&map, &output));

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
        VideoError::Encode {
            path: self.path.clone(),
            reason,
        }
        .into()
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
                if let Some(copy) = self.copy.as_mut() {
                    copy.copy_until(&mut self.output, Some(seconds), &self.path)?;
                }
            }
            packet
                .write_interleaved(&mut self.output)
                .map_err(|e| self.fail(format!("cannot write video: {e}")))?;
        }
    }

    fn finish_inner(mut self) -> Result<()> {
        match self.encoder.send_eof() {
            Ok(()) | Err(ff::Error::Eof) => {}
            Err(e) => return Err(self.fail(format!("cannot flush the encoder: {e}"))),
        }
        self.drain_encoder()?;
        if let Some(copy) = self.copy.as_mut() {
            copy.copy_until(&mut self.output, None, &self.path)?;
            copy.finish(&mut self.output, &self.path)?;
        }
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

/// Adds the video stream (index 0, tagged with the source's start timecode).
fn add_video_stream(
    output: &mut format::context::Output,
    video_codec: ff::Codec,
    encoder: &encoder::Video,
    info: &StreamInfo,
    time_base: ff::Rational,
) -> std::result::Result<(), ff::Error> {
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

    Ok(())
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
        let fail = |reason: String| {
            Error::Video(VideoError::Encode {
                path: self.path.clone(),
                reason,
            })
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
