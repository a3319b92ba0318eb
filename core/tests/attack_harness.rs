//! Smoke test of the ffmpeg attack harness in `tests/support`.

mod support;

use support::{Attack, Clip, attack, decode, testdata};

const FRAMES: usize = 48;

fn tos() -> Clip {
    decode(&testdata("tos_360p24_10s.mp4"), Some(FRAMES))
}

/// Mean luma PSNR in dB over frames (computed here on purpose: independent of the library).
fn luma_psnr(a: &Clip, b: &Clip) -> f64 {
    assert_eq!(a.frames.len(), b.frames.len(), "frame counts differ");
    let mut sum = 0.0;
    for (fa, fb) in a.frames.iter().zip(&b.frames) {
        assert_eq!(fa.y.dim(), fb.y.dim(), "luma sizes differ");
        let sse: f64 =
            fa.y.iter()
                .zip(fb.y.iter())
                .map(|(&x, &y)| {
                    let d = x as f64 - y as f64;
                    d * d
                })
                .sum();
        let mse = sse / fa.y.len() as f64;
        sum += if mse == 0.0 {
            100.0
        } else {
            10.0 * (255.0 * 255.0 / mse).log10()
        };
    }
    sum / a.frames.len() as f64
}

#[test]
fn decode_reads_size_rate_and_frames() {
    let clip = tos();
    assert_eq!((clip.width, clip.height), (640, 360));
    assert_eq!(clip.fps, (24, 1));
    assert_eq!(clip.frames.len(), FRAMES);
    let f = &clip.frames[0];
    assert_eq!(f.y.dim(), (360, 640));
    assert_eq!(f.u.dim(), (180, 320));
    assert_eq!(f.v.dim(), (180, 320));
}

#[test]
fn h264_scale_changes_size_keeps_frames() {
    let out = attack(&tos(), &Attack::h264(28).filter("scale=320:-2"));
    assert_eq!((out.width, out.height), (320, 180));
    assert_eq!(out.frames.len(), FRAMES);
    assert_eq!(out.fps, (24, 1));
    assert_eq!(out.frames[0].y.dim(), (180, 320));
    assert_eq!(out.frames[0].u.dim(), (90, 160));
}

#[test]
fn fps_filter_retimes_24_to_30() {
    let out = attack(&tos(), &Attack::h264(23).fps(30));
    assert_eq!(out.fps, (30, 1));
    let n = out.frames.len();
    assert!(
        (59..=61).contains(&n),
        "expected 60 ± 1 frames at 30 fps, got {n}"
    );
}

#[test]
fn excerpt_keeps_one_second() {
    let clip = tos();
    let out = attack(&clip, &Attack::h264(23).excerpt(0.5, 1.0));
    let n = out.frames.len();
    assert!((23..=25).contains(&n), "expected 24 ± 1 frames, got {n}");
    assert_eq!((out.width, out.height), (640, 360));
    // The excerpt starts 0.5 s (12 frames) in: its first frame is source frame 12.
    let first = Clip {
        frames: vec![out.frames[0].clone()],
        ..clip.clone()
    };
    let at = |i: usize| Clip {
        frames: vec![clip.frames[i].clone()],
        ..clip.clone()
    };
    let (p0, p12) = (luma_psnr(&at(0), &first), luma_psnr(&at(12), &first));
    assert!(
        p12 > p0 + 3.0 && p12 > 30.0,
        "excerpt start: PSNR vs frame 0 {p0:.1}, vs frame 12 {p12:.1}"
    );
}

#[test]
fn h264_crf18_round_trip_is_high_quality() {
    let clip = tos();
    let out = attack(&clip, &Attack::h264(18));
    let psnr = luma_psnr(&clip, &out);
    eprintln!("luma PSNR after h264 CRF 18: {psnr:.2} dB");
    assert!(psnr > 35.0, "luma PSNR {psnr:.2} dB after CRF 18");
}

#[test]
fn h265_crop_encodes() {
    let clip = decode(&testdata("caminandes_360p24_10s.mp4"), Some(12));
    let out = attack(
        &clip,
        &Attack::h265(28).filter("crop=trunc(iw*0.9/2)*2:trunc(ih*0.9/2)*2"),
    );
    assert_eq!((out.width, out.height), (576, 324));
    assert_eq!(out.frames.len(), 12);
}

#[test]
fn names_describe_the_chain() {
    let a = Attack::h265(30).filter("scale=-2:240").fps(25);
    assert_eq!(a.name, "h265 crf30 + scale=-2:240 + 25 fps");
    assert_eq!(Attack::h264(23).named("mild").fps(30).name, "mild");
}
