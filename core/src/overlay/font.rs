//! The embedded font, a per-glyph coverage cache and line layout into a [`Mask`].
//!
//! The font is Liberation Sans Bold (SIL Open Font License 1.1, `fonts/OFL.txt`): a bold
//! sans-serif survives heavy compression and camcording better than a regular weight, and
//! its digits share one advance, so a running timecode does not make the text jitter.
//!
//! Each glyph is rasterised once per renderer (one renderer has one pixel size) together with
//! its halo (outline or shadow), and cached; a frame whose text changed (a timecode) is laid
//! out again by copying cached coverage only, which is what keeps per-frame fields cheap.

use std::collections::HashMap;

use ab_glyph::{Font, FontRef, GlyphId, PxScale, ScaleFont, point};

use super::Style;
use super::composite::Mask;
use crate::error::{Error, Result};

/// Liberation Sans Bold 2.1.5, unmodified; licence in `fonts/OFL.txt`.
pub static FONT_DATA: &[u8] = include_bytes!("fonts/LiberationSans-Bold.ttf");

/// How lines of a multi-line text line up with each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Align {
    Left,
    Center,
    Right,
}

/// One glyph's coverage (and halo) at the renderer's size, relative to its pen position on
/// the baseline.
struct CachedGlyph {
    left: i32,
    top: i32,
    width: usize,
    fill: Vec<f32>,
    halo: Vec<f32>,
}

/// Lays out text at one pixel size and style, caching rasterised glyphs.
pub(crate) struct TextRenderer {
    font: FontRef<'static>,
    scale: PxScale,
    style: Style,
    /// Outline radius or shadow offset in pixels.
    halo_px: f32,
    /// Space kept around the text for the halo.
    pad: usize,
    ascent: f32,
    line_advance: f32,
    cache: HashMap<GlyphId, CachedGlyph>,
}

impl TextRenderer {
    /// A renderer whose text lines are `line_px` pixels apart.
    pub(crate) fn new(line_px: f32, style: Style) -> Result<TextRenderer> {
        let font = FontRef::try_from_slice(FONT_DATA).map_err(|e| Error::InvalidOverlay {
            reason: format!("embedded font: {e}"),
        })?;
        // Glyph height (ascent - descent) takes 85 % of the line; the rest separates lines.
        // (ab_glyph's pixel scale is the ascent-to-descent height.)
        let scale = PxScale::from(line_px * 0.85);
        let scaled = font.as_scaled(scale);
        // An outline of ~8 % of the glyph height stays visible after a 4:2:0 encode at small
        // sizes without closing the counters of bold letters; never under 1 px.
        let halo_px = match style {
            Style::Outline | Style::Shadow => (scale.y * 0.08).max(1.0),
            Style::None => 0.0,
        };
        let pad = halo_px.ceil() as usize + 2;
        Ok(TextRenderer {
            ascent: scaled.ascent(),
            line_advance: line_px,
            font,
            scale,
            style,
            halo_px,
            pad,
            cache: HashMap::new(),
        })
    }

    /// Number of glyphs rasterised so far (each at most once).
    pub(crate) fn cached_glyphs(&self) -> usize {
        self.cache.len()
    }

    /// The coverage mask of `text` (lines split at `\n`), padded for the halo.
    pub(crate) fn render(&mut self, text: &str, align: Align) -> Mask {
        let lines: Vec<&str> = text.split('\n').collect();
        let mut placed: Vec<Vec<(GlyphId, i32)>> = Vec::with_capacity(lines.len());
        let mut widths = Vec::with_capacity(lines.len());
        {
            let scaled = self.font.as_scaled(self.scale);
            for line in &lines {
                let mut pen = 0.0f32;
                let mut previous: Option<GlyphId> = None;
                let mut glyphs = Vec::new();
                for c in line.chars().filter(|c| !c.is_control()) {
                    let id = scaled.glyph_id(c);
                    if let Some(p) = previous {
                        pen += scaled.kern(p, id);
                    }
                    // Whole-pixel pen positions let one cached raster serve every occurrence.
                    glyphs.push((id, pen.round() as i32));
                    pen += scaled.h_advance(id);
                    previous = Some(id);
                }
                widths.push(pen.ceil().max(0.0) as usize);
                placed.push(glyphs);
            }
        }
        let text_width = widths.iter().copied().max().unwrap_or(0);
        let pad = self.pad;
        let width = text_width + 2 * pad;
        let height = (self.line_advance * lines.len() as f32).ceil() as usize + 2 * pad;
        let mut mask = Mask::new(width, height);
        for (row, (glyphs, line_width)) in placed.iter().zip(&widths).enumerate() {
            let indent = match align {
                Align::Left => 0,
                Align::Center => (text_width - line_width) / 2,
                Align::Right => text_width - line_width,
            } as i32;
            let baseline = pad as f32 + self.ascent + row as f32 * self.line_advance;
            let baseline = baseline.round() as i32;
            for &(id, pen) in glyphs {
                let glyph = self.glyph(id);
                let x0 = pad as i32 + indent + pen + glyph.left;
                let y0 = baseline + glyph.top;
                mask.max_blit(x0, y0, glyph.width, &glyph.fill, &glyph.halo);
            }
        }
        mask
    }

    fn glyph(&mut self, id: GlyphId) -> &CachedGlyph {
        if !self.cache.contains_key(&id) {
            let raster = self.rasterise(id);
            self.cache.insert(id, raster);
        }
        &self.cache[&id]
    }

    fn rasterise(&self, id: GlyphId) -> CachedGlyph {
        let glyph = id.with_scale_and_position(self.scale, point(0.0, 0.0));
        let Some(outlined) = self.font.outline_glyph(glyph) else {
            // Spaces and other empty glyphs.
            return CachedGlyph {
                left: 0,
                top: 0,
                width: 0,
                fill: Vec::new(),
                halo: Vec::new(),
            };
        };
        let bounds = outlined.px_bounds();
        let pad = self.pad;
        let (gw, gh) = (bounds.width() as usize, bounds.height() as usize);
        let (width, height) = (gw + 2 * pad, gh + 2 * pad);
        let mut fill = vec![0.0f32; width * height];
        outlined.draw(|x, y, c| {
            let (x, y) = (x as usize + pad, y as usize + pad);
            if x < width && y < height {
                fill[y * width + x] = c.clamp(0.0, 1.0);
            }
        });
        let halo = match self.style {
            Style::Outline => dilate(&fill, width, height, self.halo_px),
            Style::Shadow => shadow(&fill, width, height, self.halo_px),
            Style::None => Vec::new(),
        };
        CachedGlyph {
            left: bounds.min.x as i32 - pad as i32,
            top: bounds.min.y as i32 - pad as i32,
            width,
            fill,
            halo,
        }
    }
}

/// Anti-aliased dilation by a disc of `radius` pixels: each pixel takes the strongest
/// coverage within reach, weighted by how much of the pixel the disc edge covers.
fn dilate(fill: &[f32], width: usize, height: usize, radius: f32) -> Vec<f32> {
    let reach = (radius + 0.5).ceil() as i32;
    let mut kernel = Vec::new();
    for dy in -reach..=reach {
        for dx in -reach..=reach {
            let distance = ((dx * dx + dy * dy) as f32).sqrt();
            let weight = (radius + 0.5 - distance).clamp(0.0, 1.0);
            if weight > 0.0 {
                kernel.push((dx, dy, weight));
            }
        }
    }
    let mut out = vec![0.0f32; width * height];
    for y in 0..height as i32 {
        for x in 0..width as i32 {
            let mut best = 0.0f32;
            for &(dx, dy, weight) in &kernel {
                let (sx, sy) = (x + dx, y + dy);
                if sx >= 0 && sy >= 0 && (sx as usize) < width && (sy as usize) < height {
                    best = best.max(fill[sy as usize * width + sx as usize] * weight);
                }
            }
            out[y as usize * width + x as usize] = best;
        }
    }
    out
}

/// A drop shadow: the coverage moved right and down by `offset` pixels and softened by a
/// 3x3 box blur, so it reads as a shadow rather than a second copy of the text.
fn shadow(fill: &[f32], width: usize, height: usize, offset: f32) -> Vec<f32> {
    let shift = offset.round().max(1.0) as i32;
    let at = |x: i32, y: i32| -> f32 {
        let (sx, sy) = (x - shift, y - shift);
        if sx >= 0 && sy >= 0 && (sx as usize) < width && (sy as usize) < height {
            fill[sy as usize * width + sx as usize]
        } else {
            0.0
        }
    };
    let mut out = vec![0.0f32; width * height];
    for y in 0..height as i32 {
        for x in 0..width as i32 {
            let mut sum = 0.0;
            for dy in -1..=1 {
                for dx in -1..=1 {
                    sum += at(x + dx, y + dy);
                }
            }
            // A blurred edge is weaker than the text: boost so the shadow's core stays solid.
            out[y as usize * width + x as usize] = (sum / 9.0 * 1.5).min(1.0);
        }
    }
    out
}
