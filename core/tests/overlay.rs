//! The visible session overlay on real footage: golden images, OCR after a real H.264
//! encode, frame-accurate timecode, exact Y'CbCr compositing at 8/10 bits and every chroma
//! subsampling, a keyed moving path, and the invisible mark still recovered under attack.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

use filigree::overlay::{
    Overlay, OverlayConfig, Position, Rect, SessionInfo, Style, Template, timecode,
};
use filigree::video::{PixelFormat, Planes, Rational, VideoFrame};
use filigree::{EmbedConfig, Key};
use ndarray::Array2;
use support::{Attack, Clip, Frame};

const RECIPIENT: u32 = 0xC0FF_EE42;

fn key() -> Key {
    Key::from_bytes(*b"filigree overlay tests key 00001")
}

/// A session with a fixed start time, so rendered text (and golden images) never change.
fn session(id: &str) -> SessionInfo {
    SessionInfo {
        recipient: RECIPIENT,
        label: Some("critic-42@example.org".into()),
        session: id.into(),
        started: SystemTime::UNIX_EPOCH + Duration::from_secs(1_760_000_000),
    }
}

fn tos() -> &'static Clip {
    static CLIP: OnceLock<Clip> = OnceLock::new();
    CLIP.get_or_init(|| support::decode(&support::testdata("tos_360p24_10s.mp4"), None))
}

fn to_video_frame(frame: &Frame) -> VideoFrame {
    VideoFrame {
        format: PixelFormat::Yuv420p,
        planes: Planes::Eight([frame.y.clone(), frame.u.clone(), frame.v.clone()]),
        pts: None,
    }
}

fn from_video_frame(frame: VideoFrame) -> Frame {
    match frame.planes {
        Planes::Eight([y, u, v]) => Frame { y, u, v },
        Planes::High(_) => panic!("8-bit frame expected"),
    }
}

/// The clip with the overlay burned into every frame (frame index = position in the clip).
fn with_overlay(clip: &Clip, config: &OverlayConfig, session: &SessionInfo) -> Clip {
    let rate = Rational::new(clip.fps.0 as i32, clip.fps.1 as i32);
    let mut overlay = Overlay::new(config, session, &key(), clip.width, clip.height, rate).unwrap();
    let mut out = clip.clone();
    for (i, frame) in out.frames.iter_mut().enumerate() {
        let mut video = to_video_frame(frame);
        overlay.apply(&mut video, i as u64).unwrap();
        *frame = from_video_frame(video);
    }
    out
}

fn sub_clip(clip: &Clip, range: std::ops::Range<usize>) -> Clip {
    Clip {
        frames: clip.frames[range].to_vec(),
        ..clip.clone()
    }
}

// ---------------------------------------------------------------------------------------
// Golden images

/// A region of a yuv420p frame as one grey image: Y on top, U and V side by side below.
fn planar_image(frame: &Frame, r: Rect) -> image::GrayImage {
    let (x, y, w, h) = (r.x as usize, r.y as usize, r.width, r.height);
    assert!(x % 2 == 0 && y % 2 == 0 && w % 2 == 0 && h % 2 == 0);
    let mut img = image::GrayImage::new(w as u32, (h + h / 2) as u32);
    for row in 0..h {
        for col in 0..w {
            img.put_pixel(
                col as u32,
                row as u32,
                image::Luma([frame.y[(y + row, x + col)]]),
            );
        }
    }
    for row in 0..h / 2 {
        for col in 0..w / 2 {
            let (cy, cx) = (y / 2 + row, x / 2 + col);
            let out_row = (h + row) as u32;
            img.put_pixel(col as u32, out_row, image::Luma([frame.u[(cy, cx)]]));
            img.put_pixel(
                (w / 2 + col) as u32,
                out_row,
                image::Luma([frame.v[(cy, cx)]]),
            );
        }
    }
    img
}

fn golden_path(name: &str) -> PathBuf {
    support::testdata("golden").join(name)
}

/// Compares with `testdata/golden/NAME`; `FILIGREE_BLESS=1` (re)writes missing or changed
/// images instead.
fn assert_golden(name: &str, actual: &image::GrayImage) {
    let path = golden_path(name);
    let bless = std::env::var_os("FILIGREE_BLESS").is_some_and(|v| v == "1");
    if bless {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        actual.save(&path).unwrap();
        println!("wrote {}", path.display());
        return;
    }
    let expected = image::open(&path)
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (run with FILIGREE_BLESS=1 to write it)",
                path.display()
            )
        })
        .to_luma8();
    assert_eq!(expected.dimensions(), actual.dimensions(), "{name}: size");
    let worst = expected
        .as_raw()
        .iter()
        .zip(actual.as_raw())
        .map(|(&a, &b)| a.abs_diff(b))
        .max()
        .unwrap_or(0);
    assert!(
        worst <= 1,
        "{name}: differs by up to {worst} code values from {}",
        path.display()
    );
}

fn golden_case(name: &str, config: OverlayConfig, region: Option<Rect>) {
    let clip = tos();
    let rate = Rational::new(24, 1);
    let mut overlay = Overlay::new(
        &config,
        &session("7f3a9c01"),
        &key(),
        clip.width,
        clip.height,
        rate,
    )
    .unwrap();
    let frame_index = 37;
    let mut frame = to_video_frame(&clip.frames[0]);
    overlay.apply(&mut frame, frame_index).unwrap();
    let frame = from_video_frame(frame);
    let region = region.unwrap_or_else(|| {
        // The text's rectangle, grown to even coordinates and clipped to the frame.
        let r = overlay.placements(frame_index)[0];
        let x0 = (r.x.max(0) / 2) * 2;
        let y0 = (r.y.max(0) / 2) * 2;
        let x1 = ((r.x + r.width as i64).min(clip.width as i64) + 1) / 2 * 2;
        let y1 = ((r.y + r.height as i64).min(clip.height as i64) + 1) / 2 * 2;
        Rect {
            x: x0,
            y: y0,
            width: (x1 - x0) as usize,
            height: (y1 - y0) as usize,
        }
    });
    assert_golden(name, &planar_image(&frame, region));
}

#[test]
fn golden_bottom_right_outline_matches_reference_image() {
    golden_case(
        "overlay_bottom_right_outline.png",
        OverlayConfig {
            template: "{label} {session}\n{date} {time} UTC {timecode}".into(),
            ..OverlayConfig::default()
        },
        None,
    );
}

#[test]
fn golden_center_shadow_yellow_matches_reference_image() {
    golden_case(
        "overlay_center_shadow_yellow.png",
        OverlayConfig {
            template: "SCREENER {recipient}\nframe {frame}".into(),
            size: 0.09,
            opacity: 0.8,
            color: [255, 220, 0],
            style: Style::Shadow,
            position: Position::Center,
        },
        None,
    );
}

#[test]
fn golden_tiled_matches_reference_image() {
    golden_case(
        "overlay_tiled.png",
        OverlayConfig {
            template: "{label}".into(),
            size: 0.05,
            opacity: 0.35,
            position: Position::Tiled,
            ..OverlayConfig::default()
        },
        Some(Rect {
            x: 0,
            y: 0,
            width: 320,
            height: 180,
        }),
    );
}

// ---------------------------------------------------------------------------------------
// OCR after a real encode

fn normalise(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_uppercase()
}

/// Reads the text in `region` of a luma plane (grown by a margin, upscaled 2x: Tesseract
/// wants capitals of 20+ px and little unrelated picture around the text).
/// Light text is inverted first: Tesseract reads dark text on a light page best.
fn ocr(luma: &Array2<u8>, region: Rect, light_text: bool, dir: &Path, name: &str) -> String {
    let (h, w) = luma.dim();
    let img = image::GrayImage::from_raw(w as u32, h as u32, luma.iter().copied().collect())
        .expect("luma image");
    let margin = 16;
    let x0 = (region.x - margin).max(0) as u32;
    let y0 = (region.y - margin).max(0) as u32;
    let x1 = ((region.x + region.width as i64 + margin) as u32).min(w as u32);
    let y1 = ((region.y + region.height as i64 + margin) as u32).min(h as u32);
    let crop = image::imageops::crop_imm(&img, x0, y0, x1 - x0, y1 - y0).to_image();
    let mut crop = image::imageops::resize(
        &crop,
        2 * crop.width(),
        2 * crop.height(),
        image::imageops::FilterType::Triangle,
    );
    if light_text {
        image::imageops::invert(&mut crop);
    }
    let path = dir.join(name);
    crop.save(&path).unwrap();
    let out = Command::new("tesseract")
        .arg(&path)
        .args(["-", "--psm", "6"])
        .args([
            "-c",
            "tessedit_char_whitelist=ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ",
        ])
        .output()
        .expect("run tesseract (apt-get install tesseract-ocr; see scripts/setup-debian)");
    assert!(
        out.status.success(),
        "tesseract: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn region_mean(luma: &Array2<u8>, r: Rect) -> f64 {
    let rows = r.y as usize..r.y as usize + r.height;
    let cols = r.x as usize..r.x as usize + r.width;
    let region = luma.slice(ndarray::s![rows, cols]);
    region.iter().map(|&v| v as f64).sum::<f64>() / region.len() as f64
}

/// Fewest character edits turning some substring of `text` into `expected`. Tesseract's
/// English model sometimes swaps one glyph of a clearly legible line (F for E in "7F3A" on
/// the dark scene), so the test allows one.
fn closest_match(text: &str, expected: &str) -> usize {
    let (t, e): (Vec<char>, Vec<char>) = (text.chars().collect(), expected.chars().collect());
    // Edit distance with a free start and end in `text` (approximate substring matching).
    let mut row: Vec<usize> = vec![0; t.len() + 1];
    for (i, &ec) in e.iter().enumerate() {
        let mut next = vec![i + 1; t.len() + 1];
        for (j, &tc) in t.iter().enumerate() {
            next[j + 1] = (row[j] + usize::from(ec != tc))
                .min(row[j + 1] + 1)
                .min(next[j] + 1);
        }
        row = next;
    }
    row.into_iter().min().unwrap_or(e.len())
}

/// The frame of `clip` whose luma behind `region` is brightest (or darkest), and that mean.
fn extreme_frame(clip: &Clip, region: Rect, brightest: bool) -> (usize, f64) {
    let means: Vec<f64> = clip
        .frames
        .iter()
        .map(|f| region_mean(&f.y, region))
        .collect();
    let pick = (0..means.len())
        .max_by(|&a, &b| {
            let order = means[a].total_cmp(&means[b]);
            if brightest { order } else { order.reverse() }
        })
        .unwrap();
    (pick, means[pick])
}

#[test]
fn ocr_reads_overlay_back_from_marked_h264_frames_on_bright_and_dark_scenes() {
    let config = OverlayConfig {
        template: "CRITIC {recipient}\\nSESSION {session}".into(),
        size: 0.09,
        // People read the default 0.6 easily (see the golden images); Tesseract wants more
        // contrast on mid-grey backgrounds.
        opacity: 0.8,
        position: Position::Center,
        ..OverlayConfig::default()
    };
    let mut info = session("7F3A");
    info.recipient = 42;
    let caminandes = support::decode(&support::testdata("caminandes_360p24_10s.mp4"), None);
    let temp = tempfile::tempdir().unwrap();
    // FILIGREE_OCR_DIR keeps the images Tesseract read, for a look when this fails.
    let dir = std::env::var_os("FILIGREE_OCR_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| temp.path().to_path_buf());
    // Text in the colour an operator would pick for the scene (black on bright, white on
    // dark), with the default outline. White on a bright scene stays legible to
    // people through its dark outline, but Tesseract's binarisation then sees hollow letters.
    // The darkest scene behind the text in the test clips is in the animation.
    for (scene, clip, color) in [
        ("bright", tos(), [0, 0, 0]),
        ("dark", &caminandes, [255, 255, 255]),
    ] {
        let config = OverlayConfig {
            color,
            ..config.clone()
        };
        let rate = Rational::new(clip.fps.0 as i32, clip.fps.1 as i32);
        let region = Overlay::new(&config, &info, &key(), clip.width, clip.height, rate)
            .unwrap()
            .placements(0)[0];
        let (index, mean) = extreme_frame(clip, region, scene == "bright");
        // A few frames around the scene frame: overlay, mark, encode, decode.
        let start = index.saturating_sub(3).min(clip.frames.len() - 8);
        let excerpt = sub_clip(clip, start..start + 8);
        let overlaid = with_overlay(&excerpt, &config, &info);
        let (marked, _) = support::mark_clip(&overlaid, &key(), 42, &EmbedConfig::default());
        let leaked = support::attack(&marked, &Attack::h264(23));
        let frame = &leaked.frames[index - start];
        let text = normalise(&ocr(
            &frame.y,
            region,
            color[0] > 128,
            &dir,
            &format!("{scene}.png"),
        ));
        println!(
            "{scene} scene (frame {index}, mean luma {mean:.0} behind the text): OCR {text:?}"
        );
        for line in ["CRITIC 42", "SESSION 7F3A"] {
            let errors = closest_match(&text, line);
            assert!(
                errors <= 1,
                "{scene} scene: OCR read {text:?}, {line:?} has {errors} character errors"
            );
        }
        if scene == "bright" {
            assert!(mean > 150.0, "bright scene: mean luma {mean:.0}");
        } else {
            assert!(mean < 90.0, "dark scene: mean luma {mean:.0}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// Timecode and per-frame fields

#[test]
fn timecode_and_frame_fields_advance_every_frame() {
    let template = Template::parse("{timecode} #{frame}").unwrap();
    assert!(template.per_frame());
    let values = filigree::overlay::SessionValues::new(1, None, "s", SystemTime::UNIX_EPOCH);
    let rendered: Vec<String> = (0..60).map(|i| template.render(&values, i, 24.0)).collect();
    for pair in rendered.windows(2) {
        assert_ne!(pair[0], pair[1]);
    }
    assert_eq!(rendered[0], "00:00:00:00 #0");
    assert_eq!(rendered[23], "00:00:00:23 #23");
    assert_eq!(rendered[24], "00:00:01:00 #24");
    assert_eq!(timecode(49, 25.0), "00:00:01:24");
    assert_eq!(timecode(50, 25.0), "00:00:02:00");
    assert_eq!(timecode(47, 24.0), "00:00:01:23");
    assert_eq!(timecode(24 * 3600 * 2 + 24 * 61, 24.0), "02:01:01:00");

    // Through the overlay, at the stream's frame rate.
    let config = OverlayConfig {
        template: "{timecode}".into(),
        ..OverlayConfig::default()
    };
    let overlay = Overlay::new(
        &config,
        &session("s"),
        &key(),
        640,
        360,
        Rational::new(25, 1),
    )
    .unwrap();
    assert_eq!(overlay.text(49), "00:00:01:24");
    assert_ne!(overlay.text(49), overlay.text(50));
}

#[test]
fn changing_timecode_reuses_cached_glyphs() {
    let config = OverlayConfig {
        template: "{label} {timecode}".into(),
        ..OverlayConfig::default()
    };
    let rate = Rational::new(24, 1);
    let mut overlay = Overlay::new(&config, &session("s"), &key(), 640, 360, rate).unwrap();
    let mut frame = VideoFrame::black(PixelFormat::Yuv420p, 640, 360);
    let mut previous = None;
    for i in 0..240 {
        let before = frame.clone();
        overlay.apply(&mut frame, i).unwrap();
        assert_ne!(before, frame);
        if let Some(previous) = &previous {
            assert_ne!(
                previous, &frame,
                "frame {i}: the timecode must change the pixels"
            );
        }
        previous = Some(frame.clone());
        frame = VideoFrame::black(PixelFormat::Yuv420p, 640, 360);
    }
    let distinct: std::collections::HashSet<char> =
        "critic-42@example.org 0123456789:".chars().collect();
    assert!(overlay.cached_glyphs() <= distinct.len());
}

// ---------------------------------------------------------------------------------------
// Compositing correctness

/// A mid-grey frame in `format`.
fn grey(format: PixelFormat, width: usize, height: usize) -> VideoFrame {
    let mut frame = VideoFrame::black(format, width, height);
    match &mut frame.planes {
        Planes::Eight(p) => p[0].fill(128),
        Planes::High(p) => p[0].fill(512),
    }
    frame
}

fn planes_u32(frame: &VideoFrame) -> [Array2<u32>; 3] {
    match &frame.planes {
        Planes::Eight(p) => p.clone().map(|a| a.mapv(u32::from)),
        Planes::High(p) => p.clone().map(|a| a.mapv(u32::from)),
    }
}

/// Opaque pure red text (no halo) on grey, at 720p so BT.709 applies: fully covered luma is
/// red's Y', edges take intermediate values, and every chroma sample equals the blend with
/// the luma-derived coverage averaged over its footprint.
#[test]
fn opaque_red_text_has_exact_ycbcr_values_and_antialiased_edges_in_every_format() {
    let (width, height) = (1280, 720);
    let config = OverlayConfig {
        template: "Filigree 42 @".into(),
        size: 0.15,
        opacity: 1.0,
        color: [255, 0, 0],
        style: Style::None,
        position: Position::Center,
    };
    for format in [
        PixelFormat::Yuv420p,
        PixelFormat::Yuv422p,
        PixelFormat::Yuv444p,
        PixelFormat::Yuv420p10,
        PixelFormat::Yuv422p10,
        PixelFormat::Yuv444p10,
    ] {
        let scale: f64 = if format.bit_depth() == 8 { 1.0 } else { 4.0 };
        let mut overlay = Overlay::new(
            &config,
            &session("s"),
            &key(),
            width,
            height,
            Rational::new(24, 1),
        )
        .unwrap();
        let mut frame = grey(format, width, height);
        overlay.apply(&mut frame, 0).unwrap();
        let [y, cb, cr] = planes_u32(&frame);
        // BT.709 limited range red: Y' 62.56, Cb 102.34, Cr 240.
        let red = [62.56 * scale, 102.335 * scale, 240.0 * scale];
        let bg = [128.0 * scale, 128.0 * scale, 128.0 * scale];
        let red_y = (red[0] + 0.5).floor() as u32;
        let full = y.iter().filter(|&&v| v == red_y).count();
        let partial = y
            .iter()
            .filter(|&&v| v > red_y && (v as f64) < bg[0] - 0.5)
            .count();
        assert!(full > 2000, "{format:?}: {full} fully covered samples");
        assert!(
            partial > full / 10,
            "{format:?}: only {partial} anti-aliased edge samples"
        );
        let (cw, ch) = format.chroma_size(width, height);
        let (sx, sy) = (width / cw, height / ch);
        let mut worst = 0.0f64;
        for row in 0..ch {
            for col in 0..cw {
                let mut alpha = 0.0;
                for ly in row * sy..(row + 1) * sy {
                    for lx in col * sx..(col + 1) * sx {
                        alpha += (bg[0] - y[(ly, lx)] as f64) / (bg[0] - red[0]);
                    }
                }
                let alpha = alpha / (sx * sy) as f64;
                for (plane, c) in [(&cb, 1), (&cr, 2)] {
                    let expected = bg[c] + alpha * (red[c] - bg[c]);
                    worst = worst.max((plane[(row, col)] as f64 - expected).abs());
                }
            }
        }
        // Luma rounding limits how well alpha can be recovered from it: 0.5 code value in
        // 65.4 (x scale) of luma range, times up to 112 (x scale) of chroma range, + rounding.
        assert!(worst <= 1.5, "{format:?}: chroma off by {worst:.2}");
        assert!(
            cr.iter().any(|&v| v == (240.0 * scale) as u32),
            "{format:?}: fully red chroma exists"
        );
    }
}

#[test]
fn outline_keeps_white_text_legible_on_white_and_black() {
    let config = OverlayConfig {
        template: "SESSION".into(),
        size: 0.1,
        opacity: 1.0,
        position: Position::Center,
        ..OverlayConfig::default()
    };
    for background in [16u8, 235] {
        let mut overlay = Overlay::new(
            &config,
            &session("s"),
            &key(),
            640,
            360,
            Rational::new(24, 1),
        )
        .unwrap();
        let mut frame = VideoFrame::black(PixelFormat::Yuv420p, 640, 360);
        if let Planes::Eight(p) = &mut frame.planes {
            p[0].fill(background);
        }
        overlay.apply(&mut frame, 0).unwrap();
        let [y, _, _] = planes_u32(&frame);
        // On black the white fill stands out; on white the dark outline does.
        let (contrasting, what) = if background == 16 {
            (y.iter().filter(|&&v| v >= 200).count(), "light fill")
        } else {
            (y.iter().filter(|&&v| v <= 60).count(), "dark outline")
        };
        assert!(
            contrasting > 500,
            "background {background}: only {contrasting} samples of {what}"
        );
    }
}

#[test]
fn bad_overlay_options_are_refused() {
    let rate = Rational::new(24, 1);
    for config in [
        OverlayConfig {
            template: "{unknown}".into(),
            ..OverlayConfig::default()
        },
        OverlayConfig {
            template: "{recipient".into(),
            ..OverlayConfig::default()
        },
        OverlayConfig {
            size: 0.0,
            ..OverlayConfig::default()
        },
        OverlayConfig {
            opacity: 1.5,
            ..OverlayConfig::default()
        },
    ] {
        let err = Overlay::new(&config, &session("s"), &key(), 640, 360, rate).err();
        assert!(
            matches!(err, Some(filigree::Error::InvalidOverlay { .. })),
            "{config:?}: {err:?}"
        );
    }
    let mut overlay = Overlay::new(
        &OverlayConfig::default(),
        &session("s"),
        &key(),
        640,
        360,
        rate,
    )
    .unwrap();
    let mut frame = VideoFrame::black(PixelFormat::Yuv420p, 320, 180);
    assert!(overlay.apply(&mut frame, 0).is_err());
}

// ---------------------------------------------------------------------------------------
// Moving position

fn moving_path(session_id: &str, key: &Key, frames: u64) -> Vec<Rect> {
    let config = OverlayConfig {
        template: "{label} {session}".into(),
        position: Position::Moving,
        ..OverlayConfig::default()
    };
    let mut overlay = Overlay::new(
        &config,
        &session(session_id),
        key,
        1920,
        1080,
        Rational::new(24, 1),
    )
    .unwrap();
    (0..frames)
        .map(|i| {
            let rects = overlay.placements(i);
            assert_eq!(rects.len(), 1);
            rects[0]
        })
        .collect()
}

#[test]
fn moving_path_is_keyed_smooth_and_inside_the_frame() {
    let frames = 24 * 60;
    let path = moving_path("session-a", &key(), frames);
    assert_eq!(
        path,
        moving_path("session-a", &key(), frames),
        "deterministic"
    );
    let other_session = moving_path("session-b", &key(), frames);
    let other_key = moving_path("session-a", &Key::from_bytes([9; 32]), frames);
    for other in [&other_session, &other_key] {
        let far = path
            .iter()
            .zip(other.iter())
            .filter(|(a, b)| (a.x - b.x).abs() + (a.y - b.y).abs() > 100)
            .count();
        assert!(
            far > frames as usize / 4,
            "paths must differ: {far} frames apart"
        );
    }
    let (mut min_x, mut max_x, mut min_y, mut max_y) = (i64::MAX, i64::MIN, i64::MAX, i64::MIN);
    for r in &path {
        assert!(r.x >= 0 && r.y >= 0, "{r:?}");
        assert!(
            r.x + r.width as i64 <= 1920 && r.y + r.height as i64 <= 1080,
            "{r:?}"
        );
        min_x = min_x.min(r.x);
        max_x = max_x.max(r.x);
        min_y = min_y.min(r.y);
        max_y = max_y.max(r.y);
    }
    for pair in path.windows(2) {
        let step = ((pair[1].x - pair[0].x).pow(2) + (pair[1].y - pair[0].y).pow(2)) as f64;
        assert!(
            step.sqrt() <= 16.0,
            "step of {:.1} px per frame",
            step.sqrt()
        );
    }
    println!("moving path over 60 s: x {min_x}..{max_x}, y {min_y}..{max_y}");
    assert!(max_x - min_x > 400 && max_y - min_y > 300, "it must travel");
}

// ---------------------------------------------------------------------------------------
// Cost

#[test]
fn overlay_cost_per_1080p_frame() {
    let rate = Rational::new(24, 1);
    for (name, config) in [
        ("bottom-right, outline, timecode", OverlayConfig::default()),
        (
            "tiled, outline",
            OverlayConfig {
                template: "{label} {session}".into(),
                position: Position::Tiled,
                ..OverlayConfig::default()
            },
        ),
    ] {
        let mut overlay = Overlay::new(&config, &session("s"), &key(), 1920, 1080, rate).unwrap();
        let mut frame = grey(PixelFormat::Yuv420p, 1920, 1080);
        overlay.apply(&mut frame, 0).unwrap(); // glyphs rasterised once
        let frames = 48;
        let started = Instant::now();
        for i in 1..=frames {
            overlay.apply(&mut frame, i).unwrap();
        }
        let ms = started.elapsed().as_secs_f64() * 1e3 / frames as f64;
        println!("overlay {name}: {ms:.2} ms per 1080p 4:2:0 frame");
        assert!(ms < 50.0, "{name}: {ms:.1} ms per frame");
    }
}

// ---------------------------------------------------------------------------------------
// The invisible mark under the overlay

fn overlaid_and_marked(position: Position) -> Clip {
    // 5 s of the live-action clip keeps the suite fast; the FP bound still holds easily.
    let clip = sub_clip(tos(), 0..120);
    let config = OverlayConfig {
        template: "{label} {session}\\n{date} {time} {timecode}".into(),
        position,
        ..OverlayConfig::default()
    };
    let overlaid = with_overlay(&clip, &config, &session("9c01d2e3"));
    support::mark_clip(&overlaid, &key(), RECIPIENT, &EmbedConfig::default()).0
}

fn assert_recovers(marked: &Clip, attack: Attack, what: &str) {
    let attacked = support::attack(marked, &attack);
    let detection = support::accumulate(&attacked).detect(&key());
    println!(
        "{what}: {} -> {:?}, FP {:?}",
        attack.name, detection.recipient, detection.false_positive_probability
    );
    assert_eq!(
        detection.recipient,
        Some(RECIPIENT),
        "{what}: {}",
        attack.name
    );
    let fp = detection.false_positive_probability.unwrap();
    assert!(fp <= 1e-9, "{what}: {}: FP {fp:e}", attack.name);
}

#[test]
fn mark_under_bottom_right_overlay_survives_the_whole_attack_suite() {
    let marked = overlaid_and_marked(Position::BottomRight);
    for attack in support::suite::all(&marked) {
        assert_recovers(&marked, attack, "bottom-right overlay");
    }
}

#[test]
fn mark_under_tiled_overlay_survives_attacks() {
    let marked = overlaid_and_marked(Position::Tiled);
    for attack in [
        support::suite::h264_crf32(),
        support::suite::crop_10_percent_off_centre_h264_crf26(),
        support::suite::chain_crop_downscale_brightness_h264_crf30(),
    ] {
        assert_recovers(&marked, attack, "tiled overlay");
    }
}

#[test]
fn mark_under_moving_overlay_survives_attacks() {
    let marked = overlaid_and_marked(Position::Moving);
    for attack in [
        support::suite::h264_crf28(),
        support::suite::crop_10_percent_off_centre_h264_crf26(),
        support::suite::chain_crop_downscale_brightness_h264_crf30(),
    ] {
        assert_recovers(&marked, attack, "moving overlay");
    }
}
