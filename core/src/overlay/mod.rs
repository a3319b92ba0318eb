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
/// The overlay's face (Liberation Sans Bold, OFL): evidence reports draw their plots' text in it.
pub use font::FONT_DATA;
pub use position::{Position, Rect};
pub use template::{Field, SessionValues, Template, timecode};

use ndarray::{ArrayViewMut2, ArrayViewMut3, Axis};

use crate::error::{Error, Result};
use crate::key::Key;
use crate::plane::{Sample, code_value_scale, max_code_value};
use crate::video::{Rational, Timecode, TimecodeClock, VideoFrame};
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

/// Parses a `RRGGBB` hex colour (a leading `#` is allowed), as the CLI and the Python
/// bindings take it.
pub fn parse_color(text: &str) -> Option<[u8; 3]> {
    let hex = text.strip_prefix('#').unwrap_or(text);
    if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let channel = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
    Some([channel(0)?, channel(2)?, channel(4)?])
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
    /// How the text stands out from the picture: outline (default), shadow or nothing.
    pub style: Style,
    /// Where the text goes; corner placements are inset by 3 % of the frame's shorter side.
    pub position: Position,
}

impl OverlayConfig {
    /// Checks the options that do not depend on the frame: a size above 0 and at most 0.5,
    /// an opacity in `0..=1` and a well-formed template (returned parsed).
    pub fn validate(&self) -> Result<Template> {
        let invalid = |reason: String| Err(Error::InvalidOverlay { reason });
        if !(self.size.is_finite() && self.size > 0.0 && self.size <= 0.5) {
            return invalid(format!(
                "size {} must be above 0 and at most 0.5 of the frame height",
                self.size
            ));
        }
        if !(self.opacity.is_finite() && (0.0..=1.0).contains(&self.opacity)) {
            return invalid(format!("opacity {} must be between 0 and 1", self.opacity));
        }
        Template::parse(&self.template.replace("\\n", "\n"))
    }
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
    /// The recipient ID, shown by `{recipient}`.
    pub recipient: u32,
    /// The recipient's label (e-mail, name), shown by `{label}`; `None` shows nothing.
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

/// One frame's overlay as [`Overlay::apply`] composites it (see [`composite`]): the text
/// mask, blended at each corner in order, halo first, then fill.
#[derive(Debug, Clone)]
pub struct OverlayLayers<'a> {
    /// Width of the text mask in luma pixels.
    pub mask_width: usize,
    /// Height of the text mask in luma pixels.
    pub mask_height: usize,
    /// Coverage of the text, `0..=1`, row-major `mask_height x mask_width`.
    pub fill_coverage: &'a [f32],
    /// Coverage of the outline or shadow, like `fill_coverage`; empty when there is none.
    pub halo_coverage: &'a [f32],
    /// Top-left luma position of each copy of the mask (may lie partly outside the frame).
    pub corners: Vec<(i64, i64)>,
    /// Colours as 8-bit video-range Y'CbCr (scaled by 2^(depth - 8) for deeper video).
    pub fill: YCbCr,
    /// Colour of the outline or shadow, like `fill`: contrasting with the text.
    pub halo: YCbCr,
    /// Blend opacity, 0 (invisible) to 1 (opaque), applied to both layers' coverage.
    pub opacity: f32,
}

/// A configured overlay for one stream size and frame rate; apply it to frames in order.
pub struct Overlay {
    template: Template,
    values: SessionValues,
    opacity: f32,
    fill: YCbCr,
    halo: YCbCr,
    /// The text and halo colours in R'G'B', for [`Overlay::apply_to_rgb`].
    fill_rgb: [u8; 3],
    halo_rgb: [u8; 3],
    position: Position,
    width: usize,
    height: usize,
    frame_rate: f64,
    /// Labels frames for `{timecode}`.
    clock: TimecodeClock,
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
        let template = config.validate()?;
        if width == 0 || height == 0 {
            return Err(Error::InvalidOverlay {
                reason: format!("frame size {width}x{height} is empty"),
            });
        }
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
        let rate = if rate.is_finite() && rate > 0.0 {
            rate
        } else {
            25.0
        };
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
            fill_rgb: config.color,
            halo_rgb,
            position: config.position,
            width,
            height,
            frame_rate: rate,
            clock: TimecodeClock::new(rate, None),
            // Title-safe-style inset: 3 % of the shorter side.
            margin: (0.03 * width.min(height) as f32).round() as usize,
            path: MovingPath::new(key, &session.session),
            renderer: TextRenderer::new(line_px, config.style)?,
            last: None,
        })
    }

    /// Counts `{timecode}` from `start`, the source's timecode at frame 0 (a master's
    /// `01:00:00:00`); `None` counts from 00:00:00:00.
    pub fn starting_at(mut self, start: Option<Timecode>) -> Overlay {
        self.clock = TimecodeClock::new(self.frame_rate, start);
        self
    }

    /// The text shown on frame `frame_index`.
    pub fn text(&self, frame_index: u64) -> String {
        self.template
            .render_at(&self.values, frame_index, &self.clock)
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
        let Some(corners) = self.prepare(frame_index) else {
            return Ok(());
        };
        let mask = self.current_mask();
        for corner in corners {
            composite::composite(frame, mask, corner, self.fill, self.halo, self.opacity)?;
        }
        Ok(())
    }

    /// Burns the overlay into a lone Y' plane of `bit_depth` bits (8 for `u8`, 9..=16 for
    /// `u16`), read as video-range luma like a decoded frame's Y' plane: the same luma that
    /// [`Overlay::apply`] writes, without the chroma.
    pub fn apply_to_luma<S: Sample>(
        &mut self,
        mut luma: ArrayViewMut2<S>,
        bit_depth: u8,
        frame_index: u64,
    ) -> Result<()> {
        let (height, width) = luma.dim();
        self.check_dims(width, height)?;
        let max = max_code_value::<S>(bit_depth)?;
        let Some(corners) = self.prepare(frame_index) else {
            return Ok(());
        };
        let scale = code_value_scale(bit_depth);
        let mask = self.current_mask();
        for corner in corners {
            composite::composite_plane(
                luma.view_mut(),
                max,
                mask,
                corner,
                self.fill.y * scale,
                self.halo.y * scale,
                self.opacity,
            );
        }
        Ok(())
    }

    /// Burns the overlay into an `(height, width, 3)` full-range R'G'B' picture.
    ///
    /// Each of R', G' and B' is blended with the same coverage toward the text (and halo)
    /// colour given in R'G'B'. Blending `v + alpha * (colour - v)` commutes with any affine
    /// colour conversion, so this equals converting to Y'CbCr 4:4:4 with the overlay's
    /// matrix, compositing there and converting back, without the round trip's rounding.
    pub fn apply_to_rgb(&mut self, mut rgb: ArrayViewMut3<u8>, frame_index: u64) -> Result<()> {
        let (height, width, channels) = rgb.dim();
        if channels != 3 {
            return Err(Error::InvalidOverlay {
                reason: format!("an R'G'B' picture has 3 channels, this one has {channels}"),
            });
        }
        self.check_dims(width, height)?;
        let Some(corners) = self.prepare(frame_index) else {
            return Ok(());
        };
        let mask = self.current_mask();
        for (channel, mut plane) in rgb.axis_iter_mut(Axis(2)).enumerate() {
            for &corner in &corners {
                composite::composite_plane(
                    plane.view_mut(),
                    255.0,
                    mask,
                    corner,
                    f32::from(self.fill_rgb[channel]),
                    f32::from(self.halo_rgb[channel]),
                    self.opacity,
                );
            }
        }
        Ok(())
    }

    /// What [`Overlay::apply`] blends onto frame `frame_index`, for a GPU to reproduce the
    /// compositing (crate `filigree-gpu`); `None` when nothing is drawn.
    pub fn layers(&mut self, frame_index: u64) -> Option<OverlayLayers<'_>> {
        let corners = self.prepare(frame_index)?;
        let mask = self.current_mask();
        Some(OverlayLayers {
            mask_width: mask.width,
            mask_height: mask.height,
            fill_coverage: &mask.fill,
            halo_coverage: &mask.halo,
            corners,
            fill: self.fill,
            halo: self.halo,
            opacity: self.opacity,
        })
    }

    fn check_dims(&self, width: usize, height: usize) -> Result<()> {
        Error::check_frame_size((width, height), (self.width, self.height))
    }

    /// Lays out frame `frame_index`'s text and returns where it goes; `None` when the
    /// overlay is fully transparent and nothing needs drawing.
    fn prepare(&mut self, frame_index: u64) -> Option<Vec<(i64, i64)>> {
        if self.opacity <= 0.0 {
            return None;
        }
        let (w, h) = {
            let mask = self.mask(frame_index);
            (mask.width, mask.height)
        };
        Some(self.corners(frame_index, (w, h)))
    }

    fn current_mask(&self) -> &Mask {
        &self.last.as_ref().expect("mask rendered by prepare").1
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

#[cfg(test)]
mod tests {
    use ndarray::{Array2, Array3};

    use super::*;
    use crate::video::{PixelFormat, Planes};

    fn overlay(config: &OverlayConfig, width: usize, height: usize) -> Overlay {
        let session = SessionInfo::new(7, Some("critic".into()), "7f3a".into());
        let key = Key::from_bytes([3; 32]);
        Overlay::new(config, &session, &key, width, height, Rational::new(25, 1)).unwrap()
    }

    #[test]
    fn parse_color_takes_rrggbb_hex() {
        assert_eq!(parse_color("ff8000"), Some([255, 128, 0]));
        assert_eq!(parse_color("#00FFaa"), Some([0, 255, 170]));
        for bad in ["", "fff", "ff80001", "gg0000", "+f8000", "ff 800"] {
            assert_eq!(parse_color(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn apply_to_luma_writes_the_luma_that_apply_writes() {
        let config = OverlayConfig {
            template: "SCREENER {recipient} {timecode}".into(),
            position: Position::Tiled,
            ..OverlayConfig::default()
        };
        for (format, depth) in [(PixelFormat::Yuv420p, 8), (PixelFormat::Yuv422p10, 10)] {
            let (w, h) = (320, 180);
            let mut frame = VideoFrame::black(format, w, h);
            overlay(&config, w, h).apply(&mut frame, 30).unwrap();
            let mut ov = overlay(&config, w, h);
            match &frame.planes {
                Planes::Eight(p) => {
                    let mut luma = Array2::from_elem((h, w), 16u8);
                    ov.apply_to_luma(luma.view_mut(), depth, 30).unwrap();
                    assert_eq!(luma, p[0]);
                    assert!(luma.iter().any(|&v| v > 100));
                }
                Planes::High(p) => {
                    let mut luma = Array2::from_elem((h, w), 64u16);
                    ov.apply_to_luma(luma.view_mut(), depth, 30).unwrap();
                    assert_eq!(luma, p[0]);
                    assert!(luma.iter().any(|&v| v > 400));
                }
            }
        }
        // Wrong size or depth is refused.
        let mut ov = overlay(&config, 320, 180);
        let mut luma = Array2::from_elem((180, 300), 16u8);
        assert!(ov.apply_to_luma(luma.view_mut(), 8, 0).is_err());
        let mut luma = Array2::from_elem((180, 320), 16u8);
        assert!(ov.apply_to_luma(luma.view_mut(), 10, 0).is_err());
    }

    #[test]
    fn apply_to_rgb_matches_compositing_in_ycbcr() {
        let (w, h) = (320, 180);
        let config = OverlayConfig {
            template: "REVIEW {recipient}".into(),
            color: [255, 200, 0],
            opacity: 0.8,
            size: 0.1,
            ..OverlayConfig::default()
        };
        let background = [40u8, 90, 160];
        let mut rgb = Array3::from_shape_fn((h, w, 3), |(_, _, c)| background[c]);
        let mut ov = overlay(&config, w, h);
        ov.apply_to_rgb(rgb.view_mut(), 0).unwrap();
        let rect = ov.placements(0)[0];

        // The same overlay on a 4:4:4 frame of the background colour.
        let matrix = Matrix::for_height(h);
        let bg = matrix.to_ycbcr(background);
        let mut frame = VideoFrame::black(PixelFormat::Yuv444p, w, h);
        if let Planes::Eight(p) = &mut frame.planes {
            p[0].fill(bg.y.round() as u8);
            p[1].fill(bg.cb.round() as u8);
            p[2].fill(bg.cr.round() as u8);
        }
        overlay(&config, w, h).apply(&mut frame, 0).unwrap();
        let Planes::Eight(p) = &frame.planes else {
            unreachable!()
        };
        let mut changed = 0;
        for y in 0..h {
            for x in 0..w {
                let px = [rgb[[y, x, 0]], rgb[[y, x, 1]], rgb[[y, x, 2]]];
                let inside = (x as i64) >= rect.x
                    && (x as i64) < rect.x + rect.width as i64
                    && (y as i64) >= rect.y
                    && (y as i64) < rect.y + rect.height as i64;
                if !inside {
                    assert_eq!(px, background, "outside the text at ({x}, {y})");
                    continue;
                }
                changed += usize::from(px != background);
                let got = matrix.to_ycbcr(px);
                let want = [p[0][[y, x]], p[1][[y, x]], p[2][[y, x]]];
                for (g, w) in [got.y, got.cb, got.cr].into_iter().zip(want) {
                    assert!((g - f32::from(w)).abs() <= 1.5, "({x}, {y}): {g} vs {w}");
                }
            }
        }
        assert!(changed > 100);
        let mut four = Array3::<u8>::zeros((h, w, 4));
        assert!(ov.apply_to_rgb(four.view_mut(), 0).is_err());
    }
}
