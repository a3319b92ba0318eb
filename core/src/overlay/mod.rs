//! The visible session overlay: who a copy was made for, when, and which frame, burned into
//! every frame so a camcorded or screen-captured leak shows its origin at a glance.
//!
//! It is the first stage over a frame; the invisible mark comes after it, so the mark also
//! covers the overlay's pixels (see `pipeline::embed_file`). Text comes from a [`template`]
//! with fields such as `{recipient}` and `{timecode}`, is set in an embedded font
//! ([`font`]), placed by [`Position`] and alpha-blended onto the Y'CbCr planes
//! ([`composite`]) at 8 or 10 bits and any chroma subsampling.
//!
//! Colours are given in R'G'B' and converted with BT.601 below 720 lines and BT.709 from
//! 720 lines up, to limited (video) range, matching how untagged SD and HD video is decoded.
//!
//! ```
//! use filigree::overlay::{Overlay, OverlayConfig, Position, SessionInfo};
//! use filigree::video::{PixelFormat, Rational, VideoFrame};
//! let key = filigree::Key::from_bytes([7; 32]);
//! let config = OverlayConfig {
//!     template: "{label}\n{session} {timecode}".into(),
//!     position: Position::Moving,
//!     ..OverlayConfig::default()
//! };
//! let session = SessionInfo::new(42, Some("critic@example.org".into()), "7f3a".into());
//! let mut overlay = Overlay::new(&config, &session, &key, 1280, 720, Rational::new(24, 1))?;
//! let mut frame = VideoFrame::black(PixelFormat::Yuv420p, 1280, 720);
//! overlay.apply(&mut frame, 0)?;
//! # Ok::<(), filigree::Error>(())
//! ```

mod composite;
mod font;
mod position;
mod template;

use std::time::SystemTime;

pub use composite::{Matrix, YCbCr};
pub use position::{Position, Rect};
pub use template::{Field, SessionValues, Template, timecode};

use crate::error::{Error, Result};
use crate::key::Key;
use crate::video::{Rational, VideoFrame};
use composite::Mask;
use font::{Align, TextRenderer};
use position::MovingPath;

/// What sets the text apart from the picture behind it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Style {
    /// A contrasting outline all around each glyph: legible on white, black and busy scenes.
    #[default]
    Outline,
    /// A soft contrasting shadow down and to the right.
    Shadow,
    /// The text alone.
    None,
}

impl Style {
    /// Parses a CLI name: `outline`, `shadow` or `none`.
    pub fn from_name(name: &str) -> Option<Style> {
        match name.to_ascii_lowercase().as_str() {
            "outline" => Some(Style::Outline),
            "shadow" => Some(Style::Shadow),
            "none" => Some(Style::None),
            _ => None,
        }
    }
}

/// How the overlay looks.
#[derive(Debug, Clone, PartialEq)]
pub struct OverlayConfig {
    /// Text with `{recipient}`, `{label}`, `{session}`, `{date}`, `{time}`, `{timecode}` and
    /// `{frame}` fields; a newline (or the two characters `\n`) starts a new line.
    pub template: String,
    /// Height of one text line as a fraction of the frame height (0.04: 43 px at 1080p).
    pub size: f32,
    /// 0 (invisible) to 1 (opaque), for the text and its outline or shadow alike.
    pub opacity: f32,
    /// Text colour, R'G'B'.
    pub color: [u8; 3],
    pub style: Style,
    pub position: Position,
}

impl Default for OverlayConfig {
    fn default() -> OverlayConfig {
        OverlayConfig {
            template: "{label} {session} {timecode}".into(),
            size: 0.04,
            opacity: 0.6,
            color: [255, 255, 255],
            style: Style::Outline,
            position: Position::BottomRight,
        }
    }
}

/// Who and when: the values behind the template's session fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    pub recipient: u32,
    pub label: Option<String>,
    /// Session ID shown by `{session}`; with the key it also seeds the moving path.
    pub session: String,
    /// Shown by `{date}` and `{time}`, in UTC.
    pub started: SystemTime,
}

impl SessionInfo {
    /// A session starting now.
    pub fn new(recipient: u32, label: Option<String>, session: String) -> SessionInfo {
        SessionInfo {
            recipient,
            label,
            session,
            started: SystemTime::now(),
        }
    }

    /// A fresh random session ID: 8 lowercase hex digits.
    pub fn random_id() -> Result<String> {
        let mut bytes = [0u8; 4];
        getrandom::fill(&mut bytes).map_err(|e| Error::Random(e.to_string()))?;
        Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }
}

/// A configured overlay for one stream size and frame rate; apply it to frames in order.
pub struct Overlay {
    template: Template,
    values: SessionValues,
    opacity: f32,
    fill: YCbCr,
    halo: YCbCr,
    position: Position,
    width: usize,
    height: usize,
    frame_rate: f64,
    margin: usize,
    path: MovingPath,
    renderer: TextRenderer,
    /// The last text laid out and its mask: unchanged text is not laid out again.
    last: Option<(String, Mask)>,
}

impl Overlay {
    /// Prepares the overlay for `width x height` frames at `frame_rate`; fails on a bad
    /// template or out-of-range options.
    pub fn new(
        config: &OverlayConfig,
        session: &SessionInfo,
        key: &Key,
        width: usize,
        height: usize,
        frame_rate: Rational,
    ) -> Result<Overlay> {
        let invalid = |reason: String| Err(Error::InvalidOverlay { reason });
        if !(config.size.is_finite() && config.size > 0.0 && config.size <= 0.5) {
            return invalid(format!(
                "size {} must be above 0 and at most 0.5 of the frame height",
                config.size
            ));
        }
        if !(config.opacity.is_finite() && (0.0..=1.0).contains(&config.opacity)) {
            return invalid(format!(
                "opacity {} must be between 0 and 1",
                config.opacity
            ));
        }
        if width == 0 || height == 0 {
            return invalid(format!("frame size {width}x{height} is empty"));
        }
        let template = Template::parse(&config.template.replace("\\n", "\n"))?;
        let line_px = (config.size * height as f32).max(6.0);
        let matrix = Matrix::for_height(height);
        let fill = matrix.to_ycbcr(config.color);
        // The halo contrasts with the text: dark behind light text, light behind dark text.
        let halo_rgb = if fill.y >= 16.0 + 219.0 * 0.5 {
            [0, 0, 0]
        } else {
            [255, 255, 255]
        };
        let rate = frame_rate.as_f64();
        Ok(Overlay {
            values: SessionValues::new(
                session.recipient,
                session.label.as_deref(),
                &session.session,
                session.started,
            ),
            template,
            opacity: config.opacity,
            fill,
            halo: matrix.to_ycbcr(halo_rgb),
            position: config.position,
            width,
            height,
            frame_rate: if rate.is_finite() && rate > 0.0 {
                rate
            } else {
                25.0
            },
            // Title-safe-style inset: 3 % of the shorter side.
            margin: (0.03 * width.min(height) as f32).round() as usize,
            path: MovingPath::new(key, &session.session),
            renderer: TextRenderer::new(line_px, config.style)?,
            last: None,
        })
    }

    /// The text shown on frame `frame_index`.
    pub fn text(&self, frame_index: u64) -> String {
        self.template
            .render(&self.values, frame_index, self.frame_rate)
    }

    /// Where the text goes on frame `frame_index`: one rectangle, or many for
    /// [`Position::Tiled`].
    pub fn placements(&mut self, frame_index: u64) -> Vec<Rect> {
        let (w, h) = {
            let mask = self.mask(frame_index);
            (mask.width, mask.height)
        };
        self.corners(frame_index, (w, h))
            .into_iter()
            .map(|(x, y)| Rect {
                x,
                y,
                width: w,
                height: h,
            })
            .collect()
    }

    /// Glyphs rasterised so far; each distinct glyph is rasterised once per overlay.
    pub fn cached_glyphs(&self) -> usize {
        self.renderer.cached_glyphs()
    }

    /// Burns the overlay into `frame`, the `frame_index`-th frame of the stream (from 0).
    pub fn apply(&mut self, frame: &mut VideoFrame, frame_index: u64) -> Result<()> {
        composite::check_size(frame, self.width, self.height)?;
        if self.opacity <= 0.0 {
            return Ok(());
        }
        let (w, h) = {
            let mask = self.mask(frame_index);
            (mask.width, mask.height)
        };
        let corners = self.corners(frame_index, (w, h));
        let mask = &self.last.as_ref().expect("mask rendered above").1;
        for corner in corners {
            composite::composite(frame, mask, corner, self.fill, self.halo, self.opacity)?;
        }
        Ok(())
    }

    fn corners(&self, frame_index: u64, size: (usize, usize)) -> Vec<(i64, i64)> {
        position::placements(
            self.position,
            (self.width, self.height),
            size,
            self.margin,
            &self.path,
            frame_index as f64 / self.frame_rate,
        )
    }

    fn mask(&mut self, frame_index: u64) -> &Mask {
        let text = self.text(frame_index);
        if self.last.as_ref().is_none_or(|(t, _)| *t != text) {
            let align = match self.position {
                Position::TopLeft | Position::BottomLeft => Align::Left,
                Position::TopRight | Position::BottomRight => Align::Right,
                Position::Center | Position::Tiled | Position::Moving => Align::Center,
            };
            let mask = self.renderer.render(&text, align);
            self.last = Some((text, mask));
        }
        &self.last.as_ref().expect("set above").1
    }
}
