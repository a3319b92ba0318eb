//! The package's DASH manifest (`manifest.mpd`): the same CMAF segments as the HLS
//! playlists, one shared, edge-neutral manifest for every viewer. Media are addressed as
//! `<rendition>/<position>.m4s`, which an A/B edge rewrites to `a/` or `b/` (the DASH-IF
//! edge rule); audio as `audio/<index>.m4s`, served as is.
//!
//! Written here rather than with an MPD crate: the one maintained Rust MPD library
//! (dash-mpd) always pulls an HTTP client in, and a static on-demand MPD with one
//! `SegmentTimeline` per adaptation set is a few elements.

use std::fmt::Write as _;

use super::package::{AudioRendition, Manifest};

/// File name of the DASH manifest in the package's root folder.
pub const MPD: &str = "manifest.mpd";

/// The package's MPD.
pub fn manifest(m: &Manifest) -> String {
    let mut out = String::new();
    let duration = m.duration_seconds();
    let _ = write!(
        out,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\" \
         profiles=\"urn:mpeg:dash:profile:isoff-live:2011,urn:mpeg:dash:profile:cmaf:2019\" \
         type=\"static\" mediaPresentationDuration=\"PT{duration:.3}S\" minBufferTime=\"PT4S\">\n\
         <Period id=\"0\" start=\"PT0S\">\n"
    );
    let frame_rate = format!("{}/{}", m.frame_rate_num, m.frame_rate_den);
    let _ = writeln!(
        out,
        "<AdaptationSet id=\"0\" contentType=\"video\" mimeType=\"video/mp4\" \
         segmentAlignment=\"true\" startWithSAP=\"1\" frameRate=\"{frame_rate}\">"
    );
    out.push_str(&template(
        m.timescale as u64,
        "$RepresentationID$/init.mp4",
        "$RepresentationID$/$Number%06d$.m4s",
        &video_times(m),
    ));
    for r in &m.renditions {
        let _ = writeln!(
            out,
            "<Representation id=\"{}\" codecs=\"{}\" width=\"{}\" height=\"{}\" \
             bandwidth=\"{}\"/>",
            r.name, r.codecs, r.width, r.height, r.peak_bandwidth
        );
    }
    out.push_str("</AdaptationSet>\n");
    if let Some(audio) = &m.audio {
        let _ = writeln!(
            out,
            "<AdaptationSet id=\"1\" contentType=\"audio\" mimeType=\"audio/mp4\" lang=\"und\" \
             segmentAlignment=\"true\" startWithSAP=\"1\">\n\
             <AudioChannelConfiguration \
             schemeIdUri=\"urn:mpeg:dash:23003:3:audio_channel_configuration:2011\" \
             value=\"{}\"/>",
            audio.channels
        );
        out.push_str(&template(
            audio.rate as u64,
            "audio/init.mp4",
            "audio/$Number%06d$.m4s",
            &audio_times(audio),
        ));
        let _ = writeln!(
            out,
            "<Representation id=\"audio\" codecs=\"{}\" audioSamplingRate=\"{}\" \
             bandwidth=\"{}\"/>\n</AdaptationSet>",
            audio.codecs, audio.rate, audio.bandwidth
        );
    }
    out.push_str("</Period>\n</MPD>\n");
    out
}

/// Segment start times in the track's timescale and the end, as the segments' decode times
/// are written: position `p` starts at frame `p * position_frames`, rounded down.
fn video_times(m: &Manifest) -> Vec<u64> {
    let at = |frame: u64| {
        (frame as u128 * m.timescale as u128 * m.frame_rate_den as u128 / m.frame_rate_num as u128)
            as u64
    };
    (0..m.positions())
        .map(|p| at(p as u64 * m.position_frames))
        .chain(std::iter::once(at(m.frames)))
        .collect()
}

/// The audio segments' start times at the sample rate, and the end.
fn audio_times(audio: &AudioRendition) -> Vec<u64> {
    let mut seconds = 0.0;
    let mut times = vec![0];
    for s in &audio.segment_seconds {
        seconds += s;
        times.push((seconds * audio.rate as f64).round() as u64);
    }
    times
}

/// A `SegmentTemplate` with a `SegmentTimeline` of the segments between `times` (runs of
/// equal durations folded into `r`), numbered from 0.
fn template(timescale: u64, init: &str, media: &str, times: &[u64]) -> String {
    let mut out = format!(
        "<SegmentTemplate timescale=\"{timescale}\" initialization=\"{init}\" \
         media=\"{media}\" startNumber=\"0\">\n<SegmentTimeline>\n"
    );
    let durations: Vec<u64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    let mut i = 0;
    while i < durations.len() {
        let run = durations[i..]
            .iter()
            .take_while(|&&d| d == durations[i])
            .count();
        let start = if i == 0 { " t=\"0\"" } else { "" };
        let repeat = match run {
            1 => String::new(),
            n => format!(" r=\"{}\"", n - 1),
        };
        let _ = writeln!(out, "<S{start} d=\"{}\"{repeat}/>", durations[i]);
        i += run;
    }
    out.push_str("</SegmentTimeline>\n</SegmentTemplate>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timelines_fold_equal_durations_and_keep_the_short_last_segment() {
        let text = template(12800, "i", "m", &[0, 25600, 51200, 76800, 89600]);
        assert!(
            text.contains("<S t=\"0\" d=\"25600\" r=\"2\"/>\n<S d=\"12800\"/>"),
            "{text}"
        );
    }
}
