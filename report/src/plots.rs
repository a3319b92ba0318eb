//! The report's plots, drawn with plotters into SVG strings (inline in the page; text in the
//! overlay's embedded face, so nothing depends on the fonts of the machine).

use std::sync::Once;

use filigree::WindowStrength;
use ndarray::Array2;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

const FONT: &str = "sans-serif";

/// Most windows drawn in the timeline.
const MAX_POINTS: usize = 1500;

fn fonts() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        // The face is valid TrueType (the overlay renders with it); failing here would only
        // leave the plots without text.
        let _ = register_font(FONT, FontStyle::Normal, filigree::overlay::FONT_DATA);
    });
}

/// Draws with `draw` on a `width` x `height` SVG and returns it.
fn svg(
    (width, height): (u32, u32),
    draw: impl FnOnce(&DrawingArea<SVGBackend, plotters::coord::Shift>) -> Result<(), String>,
) -> String {
    fonts();
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (width, height)).into_drawing_area();
        let drawn = root
            .fill(&WHITE)
            .map_err(|e| e.to_string())
            .and_then(|()| draw(&root))
            .and_then(|()| root.present().map_err(|e| e.to_string()));
        if let Err(e) = drawn {
            return format!("<p>plot unavailable: {}</p>", html_escape(&e));
        }
    }
    out
}

pub(crate) fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Every sync candidate's peak height, strongest first: a found mark is one point far above
/// the cloud the other hypotheses make.
pub(crate) fn candidates(z: &[f64]) -> String {
    svg((640, 300), |root| {
        let top = z.first().copied().unwrap_or(1.0).max(8.0) * 1.1;
        let mut chart = ChartBuilder::on(root)
            .caption(
                "Sync peak of every fold and reflection searched",
                (FONT, 16),
            )
            .margin(10)
            .x_label_area_size(34)
            .y_label_area_size(44)
            .build_cartesian_2d(0usize..z.len().max(2), 0.0..top)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("candidate, strongest first")
            .y_desc("peak z")
            .label_style((FONT, 12))
            .draw()
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(
                z.iter()
                    .enumerate()
                    .skip(1)
                    .map(|(i, &v)| Circle::new((i, v), 2, RGBColor(120, 120, 120).filled())),
            )
            .map_err(|e| e.to_string())?;
        if let Some(&best) = z.first() {
            chart
                .draw_series(std::iter::once(Circle::new((0, best), 5, RED.filled())))
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    })
}

/// The correlation surface around the strongest peak, as a heat map (z, blue to red).
pub(crate) fn surface(surface: &Array2<f32>) -> String {
    let (rows, cols) = surface.dim();
    let radius_r = rows as i32 / 2;
    let radius_c = cols as i32 / 2;
    let peak = surface.iter().copied().fold(1.0f32, f32::max);
    svg((360, 380), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption("Correlation around the peak (z)", (FONT, 16))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(36)
            .build_cartesian_2d(-radius_c..radius_c + 1, -radius_r..radius_r + 1)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("shift")
            .label_style((FONT, 12))
            .draw()
            .map_err(|e| e.to_string())?;
        let colour = |z: f32| {
            let t = (z / peak).clamp(-1.0, 1.0);
            if t >= 0.0 {
                RGBColor(255, (255.0 * (1.0 - t)) as u8, (255.0 * (1.0 - t)) as u8)
            } else {
                RGBColor((255.0 * (1.0 + t)) as u8, (255.0 * (1.0 + t)) as u8, 255)
            }
        };
        chart
            .draw_series(surface.indexed_iter().map(|((r, c), &z)| {
                let (x, y) = (c as i32 - radius_c, radius_r - r as i32);
                Rectangle::new([(x, y), (x + 1, y + 1)], colour(z).filled())
            }))
            .map_err(|e| e.to_string())?;
        Ok(())
    })
}

/// The sync's strength in each window of the leak over time, each window coloured by
/// whom it decoded to: `recipient` (red), another (orange), nobody (grey).
pub(crate) fn strength(windows: &[WindowStrength], recipient: Option<u32>) -> String {
    // A film has thousands of windows: every k-th keeps the page light and the shape.
    let step = windows.len().div_ceil(MAX_POINTS).max(1);
    let windows: Vec<WindowStrength> = windows.iter().step_by(step).copied().collect();
    let windows = windows.as_slice();
    let end = windows.last().map_or(1.0, |w| w.end_seconds).max(1.0);
    let high = windows.iter().map(|w| w.sync_z).fold(5.0f64, f64::max) * 1.1;
    let low = windows.iter().map(|w| w.sync_z).fold(-4.0f64, f64::min) * 1.1;
    svg((900, 300), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(
                "The mark over time: sync strength per 1 s window",
                (FONT, 16),
            )
            .margin(10)
            .x_label_area_size(34)
            .y_label_area_size(44)
            .build_cartesian_2d(0.0..end, low..high)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("leak time of the window's end (s)")
            .y_desc("sync z")
            .label_style((FONT, 12))
            .draw()
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(LineSeries::new(
                [(0.0, 0.0), (end, 0.0)],
                RGBColor(60, 60, 60).stroke_width(1),
            ))
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(LineSeries::new(
                windows.iter().map(|w| (w.end_seconds, w.sync_z)),
                RGBColor(90, 90, 160).stroke_width(1),
            ))
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(windows.iter().map(|w| {
                let colour = match w.recipient {
                    Some(id) if Some(id) == recipient => RED,
                    Some(_) => RGBColor(255, 140, 0),
                    None => RGBColor(150, 150, 150),
                };
                Circle::new((w.end_seconds, w.sync_z), 3, colour.filled())
            }))
            .map_err(|e| e.to_string())?;
        Ok(())
    })
}
