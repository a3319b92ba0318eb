//! What a container says about itself: its streams, which one is the video, its start
//! timecode and field order (no frame is decoded).

use std::ffi::CStr;
use std::path::Path;

use ff::{codec, ffi, format, media};
use ffmpeg_next as ff;

use super::super::{FieldOrder, Timecode};
use super::{ffmpeg_url, init};
use crate::error::{Error, Result, VideoError};

/// The decoder's video stream: the best one FFmpeg finds, but never cover art (an attached
/// picture) when a real video stream exists.
pub(super) fn pick_video_stream(input: &format::context::Input) -> Option<usize> {
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
pub(super) fn start_timecode(input: &format::context::Input, video: usize) -> Option<Timecode> {
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
pub(super) fn is_timecode_track(stream: &ff::Stream) -> bool {
    let tmcd = u32::from_le_bytes(*b"tmcd");
    // SAFETY: plain field of the stream's codec parameters.
    let tag = unsafe { (*stream.parameters().as_ptr()).codec_tag };
    stream.parameters().medium() == media::Type::Data && tag == tmcd
}

/// The field order FFmpeg's `AVFieldOrder` states, `None` for progressive or unknown.
pub(super) fn field_order(order: ffi::AVFieldOrder) -> Option<FieldOrder> {
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
pub(super) fn discard_stream(input: &mut format::context::Input, index: usize) {
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
    /// Duration the container states, in seconds; `None` when it states none.
    pub duration_seconds: Option<f64>,
    /// Overall bit rate the container states, in bits/s; `None` when it states none.
    pub bit_rate: Option<i64>,
    /// One line per stream: `video h264 1920x1080`, `audio aac 48000 Hz 2 ch`.
    pub streams: Vec<String>,
}

/// Reads the container's description of `path` (no frame is decoded).
pub fn probe(path: &Path) -> Result<ContainerFacts> {
    init();
    let invalid = |reason: String| {
        Error::Video(VideoError::InvalidVideo {
            path: path.to_path_buf(),
            reason,
        })
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

pub(super) fn codec_name(id: codec::Id) -> String {
    // SAFETY: avcodec_get_name returns a static string for every id (possibly "unknown_codec").
    unsafe { CStr::from_ptr(ffi::avcodec_get_name(id.into())) }
        .to_string_lossy()
        .into_owned()
}

pub(super) fn medium_name(medium: media::Type) -> &'static str {
    match medium {
        media::Type::Video => "video",
        media::Type::Audio => "audio",
        media::Type::Subtitle => "subtitle",
        media::Type::Data => "data",
        media::Type::Attachment => "attachment",
        _ => "unknown",
    }
}
