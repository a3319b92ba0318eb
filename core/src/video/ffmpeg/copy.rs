//! The audio and subtitle streams of the original file, copied into an encoded output beside
//! its video: packet for packet where the container holds them, re-encoded as AAC (see
//! [`AacTranscoder`]) where it cannot hold the audio as it is.

use std::path::Path;

use ff::{codec, encoder, format, media};
use ffmpeg_next as ff;

use super::super::StreamInfo;
use super::super::audio::AacTranscoder;
use super::ffmpeg_url;
use super::plan::container_holds;
use super::probe::{codec_name, discard_stream, is_timecode_track, medium_name, pick_video_stream};
use crate::error::{Error, Result, VideoError};

/// The original's streams chosen for an output, before its header is written.
pub(super) struct CopyPlan {
    input: format::context::Input,
    /// Input streams copied packet for packet.
    copied: Vec<usize>,
    /// Audio re-encoded as AAC, by input stream index.
    transcoded: Vec<(usize, AacTranscoder)>,
}

impl CopyPlan {
    /// Opens `source` and chooses which of its streams `output` takes; the main video stream
    /// is never copied (it is the one being encoded), a timecode track is written anew when
    /// the video carries a timecode, and a line for each stream left out goes to `skipped`.
    pub(super) fn choose(
        source: &Path,
        output: &format::context::Output,
        info: &StreamInfo,
        global_header: bool,
        skipped: &mut Vec<String>,
    ) -> Result<CopyPlan> {
        let invalid = |reason: String| {
            Error::Video(VideoError::InvalidVideo {
                path: source.to_path_buf(),
                reason,
            })
        };
        let input = format::input(&ffmpeg_url(source).map_err(invalid)?)
            .map_err(|e| invalid(e.to_string()))?;
        let main_video = pick_video_stream(&input);
        // SAFETY: the output format pointer is valid for the context's lifetime.
        let muxer = unsafe { output.format().as_ptr() };
        let container = output.format().name().to_string();
        let mut copied = Vec::new();
        let mut transcoded = Vec::new();
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
            let supported = container_holds(muxer, id);
            if medium == media::Type::Audio && supported == Some(false) {
                let fits_aac = container_holds(muxer, codec::Id::AAC) == Some(true);
                match fits_aac.then(|| AacTranscoder::new(&stream, global_header)) {
                    Some(Ok(transcoder)) => transcoded.push((index, transcoder)),
                    Some(Err(why)) => skipped.push(format!(
                        "{what}: the {container} container cannot hold it, and {why}"
                    )),
                    None => {
                        skipped.push(format!("{what}: the {container} container cannot hold it"))
                    }
                }
                continue;
            }
            if supported == Some(false) || id == codec::Id::None {
                skipped.push(format!("{what}: the {container} container cannot hold it"));
                continue;
            }
            copied.push(index);
        }
        Ok(CopyPlan {
            input,
            copied,
            transcoded,
        })
    }

    /// Whether no stream is to be copied or re-encoded.
    pub(super) fn is_empty(&self) -> bool {
        self.copied.is_empty() && self.transcoded.is_empty()
    }

    /// The input streams to be copied packet for packet.
    pub(super) fn copied(&self) -> &[usize] {
        &self.copied
    }

    /// Adds the copied streams, then the re-encoded ones, to `output` (after its video
    /// stream) and takes the file's metadata; returns, per input stream, the output index
    /// its packets go to.
    pub(super) fn add_streams(
        &self,
        output: &mut format::context::Output,
    ) -> std::result::Result<Vec<Option<usize>>, ff::Error> {
        let input = &self.input;
        let mut map = vec![None; input.nb_streams() as usize];
        for &index in &self.copied {
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
        for (index, transcoder) in &self.transcoded {
            let mut ost = output.add_stream(encoder::find(codec::Id::AAC))?;
            ost.set_parameters(transcoder.encoder());
            ost.set_time_base(transcoder.time_base());
            if let Some(ist) = input.stream(*index) {
                ost.set_metadata(ist.metadata().to_owned());
                // SAFETY: both streams are valid; keeps default/forced flags.
                unsafe { (*ost.as_mut_ptr()).disposition = (*ist.as_ptr()).disposition };
            }
            map[*index] = Some(ost.index());
        }
        Ok(map)
    }

    /// The copier for an output whose header is written with `map` (from
    /// [`CopyPlan::add_streams`]); `None` when no stream made it into the output.
    pub(super) fn into_copy(
        self,
        map: &[Option<usize>],
        output: &format::context::Output,
    ) -> Option<StreamCopy> {
        if !map.iter().any(Option::is_some) {
            return None;
        }
        let CopyPlan {
            mut input,
            mut transcoded,
            ..
        } = self;
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
                transcoder: transcoded
                    .iter()
                    .position(|(i, _)| *i == index)
                    .map(|at| transcoded.swap_remove(at).1),
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
}

/// A stream copied from the original file into the output.
struct CopiedStream {
    out_index: usize,
    in_time_base: ff::Rational,
    out_time_base: ff::Rational,
    /// Set for audio the container cannot hold as it is: its packets are re-encoded.
    transcoder: Option<AacTranscoder>,
}

/// The second demuxer that feeds audio and subtitle packets to the output, interleaved with
/// the video by time.
pub(super) struct StreamCopy {
    input: format::context::Input,
    /// Input stream index -> where its packets go.
    map: Vec<Option<CopiedStream>>,
    /// A packet read but not yet due.
    pending: Option<ff::Packet>,
    done: bool,
}

impl StreamCopy {
    /// Copies packets to `output` (the file at `path`) up to `until` seconds (all when
    /// `None`).
    pub(super) fn copy_until(
        &mut self,
        output: &mut format::context::Output,
        until: Option<f64>,
        path: &Path,
    ) -> Result<()> {
        let fail = |reason: String| {
            Error::Video(VideoError::Encode {
                path: path.to_path_buf(),
                reason,
            })
        };
        loop {
            let mut packet = match self.pending.take() {
                Some(p) => p,
                None => {
                    if self.done {
                        return Ok(());
                    }
                    let mut p = ff::Packet::empty();
                    match p.read(&mut self.input) {
                        Ok(()) => p,
                        Err(ff::Error::InvalidData) => continue,
                        // End of file, or a read error in a damaged file: the copied
                        // streams end here; the video is unaffected.
                        Err(_) => {
                            self.done = true;
                            return Ok(());
                        }
                    }
                }
            };
            let Some(Some(target)) = self.map.get_mut(packet.stream()) else {
                continue;
            };
            if let (Some(limit), Some(ts)) = (until, packet.dts().or(packet.pts())) {
                let seconds = ts as f64 * f64::from(target.in_time_base);
                if seconds > limit {
                    self.pending = Some(packet);
                    return Ok(());
                }
            }
            let Some(transcoder) = target.transcoder.as_mut() else {
                packet.rescale_ts(target.in_time_base, target.out_time_base);
                packet.set_stream(target.out_index);
                packet.set_position(-1);
                packet.write_interleaved(output).map_err(|e| {
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
            write_encoded(output, encoded, time_base, target)
                .map_err(|e| fail(format!("cannot write re-encoded audio: {e}")))?;
        }
    }

    /// Encodes the audio still inside the transcoders into `output` (the file at `path`).
    pub(super) fn finish(
        &mut self,
        output: &mut format::context::Output,
        path: &Path,
    ) -> Result<()> {
        let fail = |reason: String| {
            Error::Video(VideoError::Encode {
                path: path.to_path_buf(),
                reason,
            })
        };
        for target in self.map.iter_mut().flatten() {
            let Some(transcoder) = target.transcoder.as_mut() else {
                continue;
            };
            let mut encoded = Vec::new();
            transcoder
                .finish(&mut encoded)
                .map_err(|e| fail(format!("audio: {e}")))?;
            let time_base = transcoder.time_base();
            write_encoded(output, encoded, time_base, target)
                .map_err(|e| fail(format!("cannot write re-encoded audio: {e}")))?;
        }
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
