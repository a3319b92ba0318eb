//! Overlay text templates: literal text with `{field}` placeholders, rendered per frame.
//!
//! `{{` and `}}` stand for literal braces. A newline in the template starts a new line of
//! overlay text. Unknown fields and unbalanced braces are errors at parse time, so a typo
//! fails before any video is read.

use std::time::SystemTime;

use crate::error::{Error, Result};
use crate::video::TimecodeClock;

/// A value the template can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The recipient ID (decimal).
    Recipient,
    /// The recipient's label (e-mail, name), empty when none was given.
    Label,
    /// The session ID.
    Session,
    /// UTC date the session started, `YYYY-MM-DD`.
    Date,
    /// UTC time the session started, `HH:MM:SS`.
    Time,
    /// Timecode of the frame, `HH:MM:SS:FF` (drop-frame `HH:MM:SS;FF`), counted from the
    /// source's start timecode (from 00:00:00:00 when it has none).
    Timecode,
    /// Frame number, counted from 0.
    Frame,
}

impl Field {
    /// Every field with its name in templates.
    pub const ALL: [(&'static str, Field); 7] = [
        ("recipient", Field::Recipient),
        ("label", Field::Label),
        ("session", Field::Session),
        ("date", Field::Date),
        ("time", Field::Time),
        ("timecode", Field::Timecode),
        ("frame", Field::Frame),
    ];

    fn from_name(name: &str) -> Option<Field> {
        Field::ALL
            .iter()
            .find(|(n, _)| *n == name)
            .map(|&(_, field)| field)
    }

    /// Whether the field's value changes from frame to frame.
    pub fn per_frame(self) -> bool {
        matches!(self, Field::Timecode | Field::Frame)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Field(Field),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    segments: Vec<Segment>,
}

/// The per-session values a template is rendered with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionValues {
    /// The recipient ID, rendered in decimal by `{recipient}`.
    pub recipient: u32,
    /// The recipient's label (e-mail, name) for `{label}`; empty when none was given.
    pub label: String,
    /// The session ID, as `{session}` shows it.
    pub session: String,
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
    /// `HH:MM:SS` (UTC).
    pub time: String,
}

impl SessionValues {
    /// Values for a session that started at `started` (shown in UTC).
    pub fn new(recipient: u32, label: Option<&str>, session: &str, started: SystemTime) -> Self {
        // RFC 3339 in UTC, e.g. "2025-03-14T09:26:53Z": date and time are its two halves.
        let stamp = humantime::format_rfc3339_seconds(started).to_string();
        let (date, time) = stamp.split_once('T').unwrap_or((&stamp, ""));
        SessionValues {
            recipient,
            label: label.unwrap_or("").to_string(),
            session: session.to_string(),
            date: date.to_string(),
            time: time.trim_end_matches('Z').to_string(),
        }
    }
}

impl Template {
    /// Parses `text`; fails on unknown fields, empty `{}` and unbalanced braces.
    pub fn parse(text: &str) -> Result<Template> {
        let invalid = |reason: String| Error::InvalidOverlay { reason };
        let mut segments = Vec::new();
        let mut literal = String::new();
        let mut chars = text.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            match c {
                '{' if chars.peek().map(|&(_, c)| c) == Some('{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek().map(|&(_, c)| c) == Some('}') => {
                    chars.next();
                    literal.push('}');
                }
                '{' => {
                    let mut name = String::new();
                    let mut closed = false;
                    for (_, c) in chars.by_ref() {
                        match c {
                            '}' => {
                                closed = true;
                                break;
                            }
                            '{' => break,
                            c => name.push(c),
                        }
                    }
                    if !closed {
                        return Err(invalid(format!(
                            "template has an unclosed '{{' at byte {at} (write '{{{{' for a literal brace)"
                        )));
                    }
                    let field = Field::from_name(name.trim()).ok_or_else(|| {
                        let known: Vec<String> =
                            Field::ALL.iter().map(|(n, _)| format!("{{{n}}}")).collect();
                        invalid(format!(
                            "unknown template field {{{name}}} (known: {})",
                            known.join(", ")
                        ))
                    })?;
                    if !literal.is_empty() {
                        segments.push(Segment::Literal(std::mem::take(&mut literal)));
                    }
                    segments.push(Segment::Field(field));
                }
                '}' => {
                    return Err(invalid(format!(
                        "template has an unmatched '}}' at byte {at} (write '}}}}' for a literal brace)"
                    )));
                }
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            segments.push(Segment::Literal(literal));
        }
        let blank = segments
            .iter()
            .all(|s| matches!(s, Segment::Literal(t) if t.trim().is_empty()));
        if blank {
            return Err(invalid("template is empty".into()));
        }
        Ok(Template { segments })
    }

    /// Whether the rendered text changes from frame to frame ({timecode}, {frame}).
    pub fn per_frame(&self) -> bool {
        self.segments
            .iter()
            .any(|s| matches!(s, Segment::Field(f) if f.per_frame()))
    }

    /// The text for frame `frame_index` of a stream at `frame_rate` frames per second whose
    /// timecode starts at 00:00:00:00.
    pub fn render(&self, values: &SessionValues, frame_index: u64, frame_rate: f64) -> String {
        self.render_at(values, frame_index, &TimecodeClock::new(frame_rate, None))
    }

    /// The text for frame `frame_index`, with `{timecode}` from `clock`.
    pub fn render_at(
        &self,
        values: &SessionValues,
        frame_index: u64,
        clock: &TimecodeClock,
    ) -> String {
        let mut out = String::new();
        for segment in &self.segments {
            match segment {
                Segment::Literal(text) => out.push_str(text),
                Segment::Field(field) => match field {
                    Field::Recipient => out.push_str(&values.recipient.to_string()),
                    Field::Label => out.push_str(&values.label),
                    Field::Session => out.push_str(&values.session),
                    Field::Date => out.push_str(&values.date),
                    Field::Time => out.push_str(&values.time),
                    Field::Timecode => out.push_str(&clock.at(frame_index).to_string()),
                    Field::Frame => out.push_str(&frame_index.to_string()),
                },
            }
        }
        out
    }
}

/// Non-drop-frame SMPTE-style timecode `HH:MM:SS:FF` of frame `frame_index`, counted from
/// 00:00:00:00.
///
/// Frames are counted at the nominal integer rate (23.976 and 29.97 count as 24 and 30, as
/// non-drop timecode does), so `FF` runs `00..rate-1` and the timecode never skips a value.
/// Hours keep counting past 99 rather than wrapping.
pub fn timecode(frame_index: u64, frame_rate: f64) -> String {
    TimecodeClock::new(frame_rate, None)
        .at(frame_index)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::video::Timecode;

    fn values() -> SessionValues {
        SessionValues::new(
            42,
            Some("critic@example.org"),
            "7f3a",
            SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000),
        )
    }

    #[test]
    fn fields_render_with_session_values() {
        let t = Template::parse("{recipient} {label} {session} {date} {time} {{x}}").unwrap();
        assert_eq!(
            t.render(&values(), 0, 24.0),
            "42 critic@example.org 7f3a 2023-11-14 22:13:20 {x}"
        );
        assert!(!t.per_frame());
    }

    #[test]
    fn bad_templates_are_rejected() {
        for bad in ["{nope}", "{recipient", "a } b", "{}", "", "{re{cipient}}"] {
            assert!(Template::parse(bad).is_err(), "{bad:?} must be rejected");
        }
    }

    #[test]
    fn timecode_counts_nominal_frames() {
        assert_eq!(timecode(49, 25.0), "00:00:01:24");
        assert_eq!(timecode(50, 25.0), "00:00:02:00");
        assert_eq!(timecode(24 * 3661 + 5, 24.0), "01:01:01:05");
        assert_eq!(timecode(30, 30000.0 / 1001.0), "00:00:01:00");
    }

    #[test]
    fn timecode_counts_from_the_source_start() {
        let t = Template::parse("TC {timecode}").unwrap();
        let clock = |rate: f64, start: &str| TimecodeClock::new(rate, Timecode::parse(start));
        let master = clock(24000.0 / 1001.0, "01:00:00:00");
        assert_eq!(t.render_at(&values(), 0, &master), "TC 01:00:00:00");
        assert_eq!(t.render_at(&values(), 24, &master), "TC 01:00:01:00");
        let ntsc = clock(30000.0 / 1001.0, "01:00:00;00");
        assert_eq!(t.render_at(&values(), 0, &ntsc), "TC 01:00:00;00");
        assert_eq!(t.render_at(&values(), 1800, &ntsc), "TC 01:01:00;02");
    }
}
