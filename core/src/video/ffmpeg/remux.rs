//! Stream-copy work for two-step packages: the master's audio encoded once as a fragmented
//! AAC rendition, and segments joined into one file without re-encoding.

use std::path::Path;

use ff::{codec, encoder, format, media};
use ffmpeg_next as ff;

use super::super::audio::AacTranscoder;
use super::super::temp::TempOutput;
use super::{ffmpeg_url, init, open_output};
use crate::error::{Error, Result, VideoError};

/// The audio of a stream rendition: what a package's playlists say about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudioTrack {
    /// Number of audio channels.
    pub channels: u16,
    /// Sample rate in Hz.
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
    let invalid = |reason: String| {
        Error::Video(VideoError::InvalidVideo {
            path: input.to_path_buf(),
            reason,
        })
    };
    let fail = |reason: String| {
        Error::Video(VideoError::Encode {
            path: output.to_path_buf(),
            reason,
        })
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
    let fail = |reason: String| {
        Error::Video(VideoError::Encode {
            path: output.to_path_buf(),
            reason,
        })
    };
    let mut sources = Vec::new();
    for input in inputs {
        let url = ffmpeg_url(input).map_err(&fail)?;
        let source = format::input(&url).map_err(|e| {
            Error::Video(VideoError::InvalidVideo {
                path: input.to_path_buf(),
                reason: e.to_string(),
            })
        })?;
        if source.streams().next().is_none() {
            return Err(VideoError::InvalidVideo {
                path: input.to_path_buf(),
                reason: "has no streams".into(),
            }
            .into());
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
