//! SMPTE timecode: the label a master's first frame carries (`01:00:00:00`, or `01:00:00;00`
//! drop-frame) and the label of every later frame.
//!
//! Timecode counts frames at the nominal integer rate (23.976 counts as 24, 29.97 as 30).
//! Drop-frame timecode, used at 29.97 and 59.94, skips the labels `;00` and `;01` (`;00` to
//! `;03` at 59.94) at the start of every minute except each tenth, so the labels keep pace
//! with the wall clock; frames themselves are never dropped.

use std::fmt;

/// A timecode label: hours, minutes, seconds, frames, and whether it is drop-frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Timecode {
    /// Hours; not wrapped at 24.
    pub hours: u64,
    /// Minutes, 0 ..= 59.
    pub minutes: u8,
    /// Seconds, 0 ..= 59.
    pub seconds: u8,
    /// Frame label within the second, counted at the nominal integer rate (0 ..= 29 at 29.97).
    pub frames: u32,
    /// Drop-frame labelling (written with `;` before the frames), as at 29.97 and 59.94.
    pub drop_frame: bool,
}

impl Timecode {
    /// Parses `HH:MM:SS:FF`, or drop-frame `HH:MM:SS;FF` (also `.` or `,` before the frames,
    /// as FFmpeg accepts). `None` for anything else, or minutes or seconds past 59.
    pub fn parse(text: &str) -> Option<Timecode> {
        let text = text.trim();
        let split = text.rfind([':', ';', '.', ','])?;
        let drop_frame = &text[split..=split] != ":";
        let mut parts = text[..split].split(':');
        let (h, m, s) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let number = |t: &str| -> Option<u64> {
            (!t.is_empty() && t.len() <= 9 && t.bytes().all(|b| b.is_ascii_digit()))
                .then(|| t.parse().ok())
                .flatten()
        };
        let (minutes, seconds) = (number(m)?, number(s)?);
        if minutes > 59 || seconds > 59 {
            return None;
        }
        Some(Timecode {
            hours: number(h)?,
            minutes: minutes as u8,
            seconds: seconds as u8,
            frames: u32::try_from(number(&text[split + 1..])?).ok()?,
            drop_frame,
        })
    }
}

impl fmt::Display for Timecode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let separator = if self.drop_frame { ';' } else { ':' };
        write!(
            f,
            "{:02}:{:02}:{:02}{separator}{:02}",
            self.hours, self.minutes, self.seconds, self.frames
        )
    }
}

/// Labels the frames of a stream: frame 0 gets the start timecode (00:00:00:00 when the
/// source has none), each later frame the next label at the stream's nominal rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimecodeClock {
    /// Frames per nominal second (24 for 23.976).
    fps: u64,
    /// Labels skipped at each dropping minute: 2 at 29.97, 4 at 59.94; 0 without drop-frame.
    drop_per_minute: u64,
    /// Frame 0 as a count of frames since 00:00:00:00.
    start: u64,
}

impl TimecodeClock {
    /// A clock for a stream at `frame_rate` frames per second whose first frame is `start`.
    /// Drop-frame applies only where it exists, at nominal rates of 30 and 60; a drop-frame
    /// label at another rate is counted as non-drop. A start label whose frame number does not
    /// exist at this rate (or is a skipped drop-frame label) is moved to the next valid one.
    pub fn new(frame_rate: f64, start: Option<Timecode>) -> TimecodeClock {
        let fps = if frame_rate.is_finite() && frame_rate >= 1.0 {
            frame_rate.round() as u64
        } else {
            25
        };
        let drop = start.is_some_and(|t| t.drop_frame) && fps % 30 == 0;
        let mut clock = TimecodeClock {
            fps,
            drop_per_minute: if drop { fps / 15 } else { 0 },
            start: 0,
        };
        if let Some(t) = start {
            let minutes = t.hours * 60 + u64::from(t.minutes);
            let mut frames = u64::from(t.frames).min(fps - 1);
            if minutes % 10 != 0 && t.seconds == 0 {
                frames = frames.max(clock.drop_per_minute);
            }
            let nominal = (minutes * 60 + u64::from(t.seconds)) * fps + frames;
            clock.start = nominal - clock.drop_per_minute * (minutes - minutes / 10);
        }
        clock
    }

    /// The label of frame `frame_index` (counted from 0). Hours keep counting past 23.
    pub fn at(&self, frame_index: u64) -> Timecode {
        let mut n = self.start + frame_index;
        let drop = self.drop_per_minute;
        if drop > 0 {
            // Turn the frame count into the nominal count the labels would show, adding back
            // the skipped labels: 9 dropping minutes per 10, none in the first minute of each.
            let per_ten_minutes = self.fps * 600 - 9 * drop;
            let per_minute = self.fps * 60 - drop;
            let (tens, rest) = (n / per_ten_minutes, n % per_ten_minutes);
            n += 9 * drop * tens + drop * (rest.saturating_sub(drop) / per_minute);
        }
        let seconds = n / self.fps;
        Timecode {
            hours: seconds / 3600,
            minutes: (seconds / 60 % 60) as u8,
            seconds: (seconds % 60) as u8,
            frames: (n % self.fps) as u32,
            drop_frame: drop > 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NTSC: f64 = 30000.0 / 1001.0;

    fn label(rate: f64, start: &str, frame: u64) -> String {
        TimecodeClock::new(rate, Timecode::parse(start))
            .at(frame)
            .to_string()
    }

    #[test]
    fn parses_and_prints_labels() {
        for text in ["01:00:00:00", "00:59:59;29", "10:00:00:12"] {
            assert_eq!(Timecode::parse(text).unwrap().to_string(), text);
        }
        assert!(Timecode::parse("01:00:00.00").unwrap().drop_frame);
        for bad in [
            "",
            "1:2:3",
            "01:60:00:00",
            "01:00:61:00",
            "aa:00:00:00",
            "01:00:00:",
        ] {
            assert_eq!(Timecode::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn non_drop_counts_from_the_start_label() {
        assert_eq!(label(24000.0 / 1001.0, "01:00:00:00", 0), "01:00:00:00");
        assert_eq!(
            label(24000.0 / 1001.0, "01:00:00:00", 24 * 61 + 5),
            "01:01:01:05"
        );
        assert_eq!(label(25.0, "00:59:59:24", 1), "01:00:00:00");
        // Without a start label the clock starts at zero.
        assert_eq!(
            TimecodeClock::new(25.0, None).at(50).to_string(),
            "00:00:02:00"
        );
    }

    #[test]
    fn drop_frame_skips_two_labels_a_minute_except_every_tenth() {
        assert_eq!(label(NTSC, "01:00:00;00", 0), "01:00:00;00");
        // Minute 00 of the hour is a tenth minute: all 1800 labels; then ;00 and ;01 go.
        assert_eq!(label(NTSC, "01:00:00;00", 1799), "01:00:59;29");
        assert_eq!(label(NTSC, "01:00:00;00", 1800), "01:01:00;02");
        assert_eq!(label(NTSC, "00:00:59;29", 1), "00:01:00;02");
        // Ten minutes of 29.97 are 17982 frames; the tenth minute keeps ;00.
        assert_eq!(label(NTSC, "00:00:00;00", 17982), "00:10:00;00");
        assert_eq!(label(NTSC, "00:09:59;29", 1), "00:10:00;00");
        // Starting on a skipped label counts from the next one.
        assert_eq!(label(NTSC, "00:01:00;00", 0), "00:01:00;02");
        // 59.94 skips four labels.
        assert_eq!(label(60000.0 / 1001.0, "00:00:59;59", 1), "00:01:00;04");
        // Drop-frame is meaningless at 25 fps: counted as non-drop.
        assert_eq!(label(25.0, "00:00:59;24", 1), "00:01:00:00");
    }

    #[test]
    fn one_hour_of_drop_frame_is_107892_frames() {
        let clock = TimecodeClock::new(NTSC, Timecode::parse("00:00:00;00"));
        assert_eq!(clock.at(107_892).to_string(), "01:00:00;00");
        assert_eq!(
            TimecodeClock::new(NTSC, Timecode::parse("01:00:00;00")).start,
            107_892
        );
    }
}
