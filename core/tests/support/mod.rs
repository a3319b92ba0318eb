//! Test support: decode real footage and apply real attacks with the system's `ffmpeg`.
//!
//! Used by integration tests (`mod support;` in `core/tests/*.rs`) and by examples
//! (`#[path = "../tests/support/mod.rs"] mod support;`). It drives the `ffmpeg` and
//! `ffprobe` binaries (Debian package `ffmpeg`, see `scripts/setup-debian`) through pipes,
//! so the attacks are the very encoders and filters a leaker would use. What is not
//! particular to core's frames (running the tools, `testdata/`, `scripts/handheld-leak`)
//! comes from the workspace's `filigree-testsupport`.
//!
//! Frames are 8-bit yuv420p: luma `(height, width)`, chroma `((height + 1) / 2, (width + 1) / 2)`,
//! every array shaped `(rows, cols)`.
//!
//! Filters passed to [`Attack::filter`] must leave **even** dimensions, because the attacked
//! clip is encoded as yuv420p with libx264/libx265, which reject odd sizes. Write scales as
//! `scale=320:-2` (or `scale=-2:480`, `scale=trunc(iw*0.7/2)*2:-2`) and crops as
//! `crop=trunc(iw*0.9/2)*2:trunc(ih*0.9/2)*2`.
//!
//! This is test code: every failure panics with a message that includes ffmpeg's stderr.

#![allow(dead_code)]

use std::io::{ErrorKind, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use filigree_testsupport::{ffmpeg, ffprobe, p};
use ndarray::Array2;

#[allow(unused_imports)] // each test binary uses a subset
pub(crate) use filigree_testsupport::{handheld_leak, testdata};

/// One yuv420p frame. Chroma planes are `((h + 1) / 2, (w + 1) / 2)`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Frame {
    pub y: Array2<u8>,
    pub u: Array2<u8>,
    pub v: Array2<u8>,
}

impl Frame {
    /// Builds a frame from one packed yuv420p frame (`Y` then `U` then `V`, no padding).
    pub(crate) fn from_yuv420p(bytes: &[u8], width: usize, height: usize) -> Frame {
        let (cw, ch) = chroma_size(width, height);
        let (ys, cs) = (width * height, cw * ch);
        assert_eq!(
            bytes.len(),
            ys + 2 * cs,
            "yuv420p frame of {width}x{height} must be {} bytes",
            ys + 2 * cs
        );
        let plane = |data: &[u8], w: usize, h: usize| {
            Array2::from_shape_vec((h, w), data.to_vec()).expect("plane shape")
        };
        Frame {
            y: plane(&bytes[..ys], width, height),
            u: plane(&bytes[ys..ys + cs], cw, ch),
            v: plane(&bytes[ys + cs..], cw, ch),
        }
    }

    /// Packed yuv420p bytes of this frame (`Y` then `U` then `V`, no padding).
    pub(crate) fn to_yuv420p(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.y.len() + self.u.len() + self.v.len());
        for plane in [&self.y, &self.u, &self.v] {
            out.extend(plane.iter().copied()); // logical (row-major) order for any layout
        }
        out
    }

    pub(crate) fn width(&self) -> usize {
        self.y.ncols()
    }

    pub(crate) fn height(&self) -> usize {
        self.y.nrows()
    }
}

/// A decoded clip: size, frame rate `(num, den)` and its frames in display order.
#[derive(Clone, Debug)]
pub(crate) struct Clip {
    pub width: usize,
    pub height: usize,
    pub fps: (u32, u32),
    pub frames: Vec<Frame>,
}

impl Clip {
    /// Frame rate as a float.
    pub(crate) fn fps_f64(&self) -> f64 {
        self.fps.0 as f64 / self.fps.1 as f64
    }

    /// Duration in seconds (`frames / fps`).
    pub(crate) fn duration_s(&self) -> f64 {
        self.frames.len() as f64 / self.fps_f64()
    }
}

fn chroma_size(width: usize, height: usize) -> (usize, usize) {
    filigree::video::PixelFormat::Yuv420p.chroma_size(width, height)
}

/// Panics with the command and ffmpeg's stderr unless it exited successfully.
fn assert_succeeded(output: &std::process::Output, cmd: &Command, what: &str) {
    if !output.status.success() {
        panic!(
            "{what} failed ({}): {:?}\n--- stderr ---\n{}",
            output.status,
            cmd,
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// Width, height and `r_frame_rate` of the first video stream, via `ffprobe`.
pub(crate) fn probe(path: &Path) -> (usize, usize, (u32, u32)) {
    let what = format!("ffprobe {}", path.display());
    let text = ffprobe(
        &[
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=width,height,r_frame_rate",
            "-of",
            "default=noprint_wrappers=1",
        ],
        path,
    );
    let field = |key: &str| -> &str {
        text.lines()
            .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
            .unwrap_or_else(|| panic!("{what}: no {key} in output:\n{text}"))
            .trim()
    };
    let width: usize = field("width")
        .parse()
        .unwrap_or_else(|e| panic!("{what}: width: {e}"));
    let height: usize = field("height")
        .parse()
        .unwrap_or_else(|e| panic!("{what}: height: {e}"));
    let rate = field("r_frame_rate");
    let (num, den) = rate
        .split_once('/')
        .and_then(|(n, d)| Some((n.parse::<u32>().ok()?, d.parse::<u32>().ok()?)))
        .filter(|&(n, d)| n > 0 && d > 0)
        .unwrap_or_else(|| panic!("{what}: unusable r_frame_rate {rate:?}"));
    (width, height, (num, den))
}

/// Decodes the first video stream of `path` (at most `max_frames` frames) to yuv420p.
///
/// Every decoded frame is returned once (`-fps_mode passthrough`: no duplication or
/// dropping to a constant rate); `fps` is the stream's `r_frame_rate`.
pub(crate) fn decode(path: &Path, max_frames: Option<usize>) -> Clip {
    let (width, height, fps) = probe(path);
    let frames = max_frames.map(|n| n.to_string());
    let mut args = vec!["-i", p(path)];
    if let Some(n) = &frames {
        args.extend(["-frames:v", n]);
    }
    args.extend(["-map", "0:v:0", "-fps_mode", "passthrough"]);
    args.extend(["-f", "rawvideo", "-pix_fmt", "yuv420p", "-"]);
    let raw = ffmpeg(&args);

    let (cw, ch) = chroma_size(width, height);
    let frame_len = width * height + 2 * cw * ch;
    assert!(
        raw.len().is_multiple_of(frame_len),
        "decode of {}: {} bytes is not a whole number of {width}x{height} yuv420p frames",
        path.display(),
        raw.len()
    );
    let frames = raw
        .chunks_exact(frame_len)
        .map(|chunk| Frame::from_yuv420p(chunk, width, height))
        .collect();
    Clip {
        width,
        height,
        fps,
        frames,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Codec {
    H264,
    H265,
}

/// A real-world transformation of a clip: optional excerpt, a `-vf` filter chain, then a
/// lossy encode (given CRF; preset veryfast unless [`Attack::preset`] says otherwise) into MP4.
/// Tests use veryfast to keep the suite short; `scripts/attack-report` encodes at medium.
///
/// ffmpeg command: `ffmpeg -f rawvideo -pix_fmt yuv420p -s WxH -r N/D -i - -vf [trim,]FILTERS
/// -c:v libx264|libx265 -preset PRESET -crf CRF -pix_fmt yuv420p OUT.mp4`.
#[derive(Clone, Debug)]
pub(crate) struct Attack {
    pub name: String,
    codec: Codec,
    crf: u8,
    preset: &'static str,
    filters: Vec<String>,
    excerpt: Option<(f64, f64)>,
    custom_name: bool,
}

impl Attack {
    fn new(codec: Codec, crf: u8) -> Attack {
        let base = match codec {
            Codec::H264 => "h264",
            Codec::H265 => "h265",
        };
        Attack {
            name: format!("{base} crf{crf}"),
            codec,
            crf,
            preset: "veryfast",
            filters: Vec::new(),
            excerpt: None,
            custom_name: false,
        }
    }

    /// libx264, `-crf crf`.
    pub(crate) fn h264(crf: u8) -> Attack {
        Attack::new(Codec::H264, crf)
    }

    /// libx265, `-crf crf` (`-x265-params log-level=error`).
    pub(crate) fn h265(crf: u8) -> Attack {
        Attack::new(Codec::H265, crf)
    }

    fn describe(mut self, part: &str) -> Attack {
        if !self.custom_name {
            self.name = format!("{} + {part}", self.name);
        }
        self
    }

    /// Appends `vf` to the `-vf` chain (comma-joined, in call order). It must leave even
    /// dimensions: use `scale=W:-2`-style expressions.
    /// Encodes at `preset` (`medium`, `veryfast`, ...) instead of veryfast.
    pub(crate) fn preset(mut self, preset: &'static str) -> Attack {
        self.preset = preset;
        self
    }

    pub(crate) fn filter(mut self, vf: &str) -> Attack {
        self.filters.push(vf.to_string());
        self.describe(vf)
    }

    /// Changes the output frame rate with the `fps` filter (e.g. 25 -> 30), in chain order.
    pub(crate) fn fps(mut self, fps: u32) -> Attack {
        self.filters.push(format!("fps={fps}"));
        self.describe(&format!("{fps} fps"))
    }

    /// Keeps only `duration_s` seconds starting at `start_s` of the input clip, cut before
    /// any other filter (a `trim` filter; see [`attack`]).
    pub(crate) fn excerpt(mut self, start_s: f64, duration_s: f64) -> Attack {
        self.excerpt = Some((start_s, duration_s));
        self.describe(&format!("excerpt {start_s}s+{duration_s}s"))
    }

    /// Replaces the generated name (later builder calls keep it).
    pub(crate) fn named(mut self, name: &str) -> Attack {
        self.name = name.to_string();
        self.custom_name = true;
        self
    }
}

/// Applies `attack` to `clip` with ffmpeg and decodes the result (which has the attacked
/// size, frame count and frame rate).
pub(crate) fn attack(clip: &Clip, attack: &Attack) -> Clip {
    assert!(
        !clip.frames.is_empty(),
        "attack {:?}: clip has no frames",
        attack.name
    );
    for (i, f) in clip.frames.iter().enumerate() {
        let (cw, ch) = chroma_size(clip.width, clip.height);
        assert!(
            f.y.dim() == (clip.height, clip.width)
                && f.u.dim() == (ch, cw)
                && f.v.dim() == (ch, cw),
            "attack {:?}: frame {i} planes {:?}/{:?}/{:?} do not match clip {}x{}",
            attack.name,
            f.y.dim(),
            f.u.dim(),
            f.v.dim(),
            clip.width,
            clip.height
        );
    }

    let dir = tempfile::Builder::new()
        .prefix("filigree-attack-")
        .tempdir()
        .expect("create temp dir for attack output");
    let out_path = dir.path().join("attacked.mp4");

    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-hide_banner", "-nostats", "-v", "error", "-y"]);
    cmd.args(["-f", "rawvideo", "-pix_fmt", "yuv420p"])
        .args(["-s", &format!("{}x{}", clip.width, clip.height)])
        .args(["-r", &format!("{}/{}", clip.fps.0, clip.fps.1)])
        .args(["-i", "-"]);
    // The excerpt is cut from the input, before the other filters. It is a `trim` filter
    // rather than input `-ss`/`-t`: ffmpeg cannot seek a pipe and would silently keep the
    // clip's start ("could not seek to position").
    let mut chain = Vec::new();
    if let Some((start, duration)) = attack.excerpt {
        chain.push(format!(
            "trim=start={start}:duration={duration},setpts=PTS-STARTPTS"
        ));
    }
    chain.extend(attack.filters.iter().cloned());
    if !chain.is_empty() {
        cmd.args(["-vf", &chain.join(",")]);
    }
    let crf = attack.crf.to_string();
    match attack.codec {
        Codec::H264 => {
            cmd.args(["-c:v", "libx264", "-preset", attack.preset, "-crf", &crf]);
        }
        Codec::H265 => {
            cmd.args(["-c:v", "libx265", "-preset", attack.preset, "-crf", &crf])
                .args(["-x265-params", "log-level=error"]);
        }
    }
    cmd.args(["-pix_fmt", "yuv420p", "-an"])
        .arg(&out_path)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let what = format!("ffmpeg attack {:?}", attack.name);

    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: cannot run ffmpeg ({e}); see scripts/setup-debian"));
    let mut stdin = child.stdin.take().expect("ffmpeg stdin");

    // Feed frames on a writer thread while this thread drains stderr, so neither pipe fills
    // up. ffmpeg may stop reading early (e.g. `-t`): a broken pipe is not an error here; the
    // exit status decides.
    let output = std::thread::scope(|s| {
        let writer = s.spawn(move || -> std::io::Result<()> {
            for frame in &clip.frames {
                match stdin.write_all(&frame.to_yuv420p()) {
                    Err(e) if e.kind() == ErrorKind::BrokenPipe => return Ok(()),
                    other => other?,
                }
            }
            drop(stdin); // EOF
            Ok(())
        });
        let output = child.wait_with_output().expect("wait for ffmpeg");
        let written = writer.join().expect("writer thread panicked");
        (output, written)
    });
    let (output, written) = output;
    assert_succeeded(&output, &cmd, &what);
    if let Err(e) = written {
        panic!(
            "{what}: writing frames to ffmpeg failed: {e}\n--- stderr ---\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    let attacked = decode(&out_path, None);
    assert!(!attacked.frames.is_empty(), "{what}: produced no frames");
    attacked
}

/// A copy of `clip` with `f(frame_index, &mut luma)` applied to every frame's luma plane.
pub(crate) fn with_luma(clip: &Clip, mut f: impl FnMut(usize, &mut Array2<u8>)) -> Clip {
    let mut out = clip.clone();
    for (i, frame) in out.frames.iter_mut().enumerate() {
        f(i, &mut frame.y);
        assert_eq!(
            frame.y.dim(),
            (clip.height, clip.width),
            "with_luma: callback changed the luma size of frame {i}"
        );
    }
    out
}

/// The core robustness suite: every attack a leaked screener is expected to survive, each one
/// a real filter chain and a real encode. Tests and the `attack_report` example share it.
pub(crate) mod suite {
    use super::{Attack, Clip};

    pub(crate) fn h264_crf23() -> Attack {
        Attack::h264(23)
    }
    pub(crate) fn h264_crf28() -> Attack {
        Attack::h264(28)
    }
    pub(crate) fn h264_crf32() -> Attack {
        Attack::h264(32)
    }
    pub(crate) fn h265_crf28() -> Attack {
        Attack::h265(28)
    }
    pub(crate) fn downscale_640x360_h264_crf28() -> Attack {
        Attack::h264(28)
            .filter("scale=640:360")
            .named("downscale 640x360 + h264 crf28")
    }
    /// 10 % of width and height removed, more from the left and top than right and bottom.
    pub(crate) fn crop_10_percent_off_centre_h264_crf26() -> Attack {
        Attack::h264(26)
            .filter("crop=trunc(iw*0.9/2)*2:trunc(ih*0.9/2)*2:iw*0.07:ih*0.03")
            .named("crop 10% off-centre + h264 crf26")
    }
    /// Picture scaled to 75 % and centred in the original frame: bars on all four sides
    /// (letterbox and pillarbox at once).
    pub(crate) fn letterbox_h264_crf26() -> Attack {
        Attack::h264(26)
            .filter(
                "scale=trunc(iw*0.75/2)*2:-2,\
                 pad=trunc(iw/0.75/2)*2:trunc(ih/0.75/2)*2:(ow-iw)/2:(oh-ih)/2",
            )
            .named("letterbox+pillarbox 75% + h264 crf26")
    }
    pub(crate) fn brightness_contrast_gamma_h264_crf26() -> Attack {
        Attack::h264(26)
            .filter("eq=brightness=0.1:contrast=1.2:gamma=0.8")
            .named("brightness +10%, contrast 1.2, gamma 0.8 + h264 crf26")
    }
    pub(crate) fn frame_rate_30_h264_crf26() -> Attack {
        Attack::h264(26)
            .fps(30)
            .named("frame rate -> 30 fps + h264 crf26")
    }
    /// Three seconds from the middle of the clip.
    pub(crate) fn excerpt_3s_h264_crf26(clip: &Clip) -> Attack {
        let start = (clip.duration_s() / 2.0 - 1.5).max(0.0);
        Attack::h264(26)
            .excerpt(start, 3.0)
            .named("3 s excerpt from the middle + h264 crf26")
    }
    pub(crate) fn chain_crop_downscale_brightness_h264_crf30() -> Attack {
        Attack::h264(30)
            .filter(
                "crop=trunc(iw*0.95/2)*2:trunc(ih*0.95/2)*2:iw*0.02:ih*0.04,\
                 scale=854:480,eq=brightness=0.06",
            )
            .named("crop 5% + downscale 854x480 + brightness + h264 crf30")
    }

    pub(crate) fn all(clip: &Clip) -> Vec<Attack> {
        vec![
            h264_crf23(),
            h264_crf28(),
            h264_crf32(),
            h265_crf28(),
            downscale_640x360_h264_crf28(),
            crop_10_percent_off_centre_h264_crf26(),
            letterbox_h264_crf26(),
            brightness_contrast_gamma_h264_crf26(),
            frame_rate_30_h264_crf26(),
            excerpt_3s_h264_crf26(clip),
            chain_crop_downscale_brightness_h264_crf30(),
        ]
    }
}

/// Marks every frame's luma for `recipient`; returns the marked clip and its fidelity.
pub(crate) fn mark_clip(
    clip: &Clip,
    key: &filigree::Key,
    recipient: u32,
    config: &filigree::EmbedConfig,
) -> (Clip, filigree::metrics::QualityStats) {
    use filigree::metrics::{psnr, ssim};
    let mut embedder = filigree::Embedder::new(key, recipient, clip.width, clip.height, config)
        .expect("embedder for clip");
    let mut quality = filigree::metrics::QualityStats::default();
    let marked = with_luma(clip, |i, luma| {
        embedder.mark(luma.view_mut(), 8).expect("mark frame");
        let reference = clip.frames[i].y.view();
        quality.add(
            psnr(reference, luma.view(), 8),
            ssim(reference, luma.view(), 8),
        );
    });
    (marked, quality)
}

/// Accumulates every frame's luma into a detector.
pub(crate) fn accumulate(clip: &Clip) -> filigree::Detector {
    let mut detector = filigree::Detector::new();
    for frame in &clip.frames {
        detector
            .add_luma(frame.y.view(), 8)
            .expect("detector accepts frame");
    }
    detector
}

/// Film masters as they are delivered, made from the test clips: the clip's picture cropped
/// to a film aspect ratio and centred in its original frame with black bars, as a scope
/// feature sits inside a 16:9 master. The bars are lifted a little above code 16 and carry
/// grain, as real masters' bars do; the picture is the clip's own. Encoded losslessly, so
/// the master is exactly what the embedder gets.
pub(crate) mod masters {
    use super::{Attack, Clip, attack};

    /// `aspect` wider than the frame: letterbox (bars above and below); narrower: pillarbox.
    pub(crate) fn boxed(clip: &Clip, aspect: f64) -> Clip {
        let frame_aspect = clip.width as f64 / clip.height as f64;
        let (w, h) = if aspect >= frame_aspect {
            (clip.width, even(clip.width as f64 / aspect))
        } else {
            (even(clip.height as f64 * aspect), clip.height)
        };
        // The picture over a grainy near-black background (Y' about 23, peaks at 32).
        let filter = format!(
            "crop={w}:{h}[picture];color=c=0x080808:s={}x{}:r={}/{},noise=alls=4:allf=t[bars];\
             [bars][picture]overlay=(W-w)/2:(H-h)/2:shortest=1",
            clip.width, clip.height, clip.fps.0, clip.fps.1
        );
        attack(clip, &Attack::h264(0).filter(&filter).named("master"))
    }

    /// A scope (2.39:1) feature inside the frame.
    pub(crate) fn scope(clip: &Clip) -> Clip {
        boxed(clip, 2.39)
    }

    /// A flat (1.85:1) feature inside the frame.
    pub(crate) fn flat(clip: &Clip) -> Clip {
        boxed(clip, 1.85)
    }

    /// A 4:3 picture pillarboxed inside the frame.
    pub(crate) fn academy(clip: &Clip) -> Clip {
        boxed(clip, 4.0 / 3.0)
    }

    fn even(v: f64) -> usize {
        (v / 2.0).round() as usize * 2
    }
}

/// How leaks are made from a (boxed or full-frame) master: bars removed or re-boxed, and the
/// geometry pirates apply to defeat content matching, each a real filter chain and encode.
pub(crate) mod geometry {
    use super::Attack;

    /// Black bars cropped away (`bars` the fraction of height, then width, they take).
    pub(crate) fn bars_cropped_off(rows: usize, cols: usize) -> Attack {
        Attack::h264(26)
            .filter(&format!("crop=iw-{}:ih-{}", 2 * cols, 2 * rows))
            .named("bars cropped off + h264 crf26")
    }
    /// The whole 16:9 frame, bars and all, letterboxed again into a 4:3 frame.
    pub(crate) fn reboxed_into_4_3() -> Attack {
        Attack::h264(26)
            .filter("pad=iw:trunc(iw*3/4/2)*2:0:(oh-ih)/2")
            .named("bars kept, letterboxed into 4:3 + h264 crf26")
    }
    pub(crate) fn mirror() -> Attack {
        Attack::h264(26)
            .filter("hflip")
            .named("horizontal mirror + h264 crf26")
    }
    pub(crate) fn flip() -> Attack {
        Attack::h264(26)
            .filter("vflip")
            .named("vertical flip + h264 crf26")
    }
    /// A quarter of each side's length cropped off-centre, scaled back up (x1.33).
    pub(crate) fn zoom_1_33() -> Attack {
        Attack::h264(26)
            .filter("crop=trunc(iw*0.75/2)*2:trunc(ih*0.75/2)*2:iw*0.17:ih*0.08,scale=iw/0.75:-2")
            .named("zoom: crop 25% off-centre, scale up x1.33 + h264 crf26")
    }
    /// Down to a quarter of the source height (a 1080p master leaked at 270p).
    pub(crate) fn quarter_height() -> Attack {
        Attack::h264(26)
            .filter("scale=-2:trunc(ih/4/2)*2")
            .named("downscale to 0.25x height + h264 crf26")
    }
    /// Rotation by `degrees`, corners filled black.
    pub(crate) fn rotate(degrees: f64) -> Attack {
        Attack::h264(26)
            .filter(&format!("rotate={}*PI/180:fillcolor=black", degrees))
            .named(&format!("rotate {degrees} deg + h264 crf26"))
    }
    /// Width scaled by `factor`, height kept (anamorphic squeeze or stretch).
    pub(crate) fn aspect(factor: f64) -> Attack {
        Attack::h264(26)
            .filter(&format!("scale=trunc(iw*{factor}/2)*2:ih"))
            .named(&format!("aspect x{factor} + h264 crf26"))
    }
    /// The picture in a player window at an offset inside a larger desktop, `surround` an
    /// ffmpeg colour; `scale` of the window's height to the desktop's.
    pub(crate) fn screen_recording(surround: &str, scale: f64) -> Attack {
        Attack::h264(26)
            .filter(&format!(
                "scale=-2:trunc(ih*{scale}/2)*2,pad=trunc(iw/{scale}/2)*2:trunc(ih/{scale}/2)*2:(ow-iw)*0.3:(oh-ih)*0.6:color={surround}"
            ))
            .named(&format!("screen recording in a {surround} desktop (window {scale}) + h264 crf26"))
    }
    /// The picture in a player window inside a textured, still desktop (a wallpaper: fixed
    /// grain on grey-blue) of a `width x height` clip at `fps`.
    pub(crate) fn screen_recording_textured(
        width: usize,
        height: usize,
        fps: (u32, u32),
        scale: f64,
    ) -> Attack {
        let even = |v: f64| (v / 2.0).round() as usize * 2;
        let (w, h) = (even(width as f64 / scale), even(height as f64 / scale));
        Attack::h264(26)
            .filter(&format!(
                "scale=-2:trunc(ih*{scale}/2)*2[window];\
                 color=c=0x6a7a8a:s={w}x{h}:r={}/{},noise=alls=35:allf=u[desktop];\
                 [desktop][window]overlay=(W-w)*0.3:(H-h)*0.6:shortest=1",
                fps.0, fps.1
            ))
            .named(&format!(
                "screen recording in a textured desktop (window {scale}) + h264 crf26"
            ))
    }
    /// A camera at a screen: keystone (corners moved by up to 3 %), blur, sensor noise and a
    /// gamma change, down to 720 lines at most, CRF 28.
    pub(crate) fn camcorder_keystone() -> Attack {
        Attack::h264(28)
            .filter("perspective=x0=W*0.03:y0=H*0.02:x1=W*0.98:y1=H*0.03:x2=W*0.01:y2=H*0.97:x3=W*0.97:y3=H*0.99:interpolation=cubic,gblur=sigma=0.8,noise=alls=6:allf=t,eq=gamma=1.15,scale=-2:'min(ih,720)'")
            .named("keystone 3% + blur + noise + gamma + h264 crf28")
    }

    /// Every leak path above that applies to any master.
    pub(crate) fn all() -> Vec<Attack> {
        vec![
            reboxed_into_4_3(),
            mirror(),
            flip(),
            zoom_1_33(),
            quarter_height(),
            rotate(1.0),
            rotate(5.0),
            rotate(-5.0),
            aspect(0.75),
            aspect(1.33),
            screen_recording("0x4a5868", 0.6),
            screen_recording("gray", 0.8),
            camcorder_keystone(),
        ]
    }
}
