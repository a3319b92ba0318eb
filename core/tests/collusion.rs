//! Collusion on real footage through real codecs: copies of several recipients averaged or
//! spliced scene by scene, then re-encoded; every colluder accused where the budget allows,
//! no innocent ever, and 10^5 never-issued ("phantom") recipients scored on every leak to
//! check the false-accusation bound empirically.

mod support;

use std::sync::OnceLock;

use filigree::collusion::chips::IssuedCodewords;
use filigree::collusion::{Accused, Issued};
use filigree::{EmbedConfig, Key, WindowDetection};
use support::{Attack, Clip, Frame, attack, decode, mark_clip, testdata};

/// Recipients whose copies go into the leaks; the ledger issued them among 2000 others.
const COLLUDERS: [u32; 4] = [1_000_017, 2_000_003, 3_141_592, 4_000_037];

fn key() -> Key {
    Key::from_bytes([0x5c; 32])
}

fn issued() -> Issued {
    let mut recipients: Vec<u32> = (1..=2000).collect();
    recipients.extend(COLLUDERS);
    Issued {
        recipients,
        sessions: Default::default(),
        false_accusation: 1e-9,
    }
}

/// The colluders' marked copies of the 10 s live-action clip, made once.
fn copies() -> &'static [Clip] {
    static COPIES: OnceLock<Vec<Clip>> = OnceLock::new();
    COPIES.get_or_init(|| {
        let clip = decode(&testdata("tos_360p24_10s.mp4"), None);
        COLLUDERS
            .iter()
            .map(|&id| mark_clip(&clip, &key(), id, &EmbedConfig::default()).0)
            .collect()
    })
}

/// Pixel-by-pixel mean of the copies (every plane), as an averaging pirate makes it.
fn average(copies: &[Clip]) -> Clip {
    let mut out = copies[0].clone();
    let n = copies.len() as u32;
    for (i, frame) in out.frames.iter_mut().enumerate() {
        let mean = |plane: fn(&Frame) -> &ndarray::Array2<u8>, target: &mut ndarray::Array2<u8>| {
            for (idx, value) in target.indexed_iter_mut() {
                let sum: u32 = copies.iter().map(|c| plane(&c.frames[i])[idx] as u32).sum();
                *value = ((sum + n / 2) / n) as u8;
            }
        };
        mean(|f| &f.y, &mut frame.y);
        mean(|f| &f.u, &mut frame.u);
        mean(|f| &f.v, &mut frame.v);
    }
    out
}

/// Scenes of `scene_seconds` taken from each copy in turn.
fn splice(copies: &[Clip], scene_seconds: f64) -> Clip {
    let mut out = copies[0].clone();
    let scene = (scene_seconds * out.fps_f64()).round() as usize;
    for (i, frame) in out.frames.iter_mut().enumerate() {
        *frame = copies[(i / scene) % copies.len()].frames[i].clone();
    }
    out
}

/// Whole-leak and window accusations of the issued recipients, and what 10^5 phantoms scored.
struct Verdict {
    recipient: Option<u32>,
    mixed_with: Vec<u32>,
    accused: Vec<Accused>,
    windows: WindowDetection,
    phantom_tails: Vec<f64>,
}

impl Verdict {
    /// Everyone accused anywhere, with the union bound over whole leak and scored windows.
    fn accused_ids(&self, issued: &Issued) -> Vec<u32> {
        let tests = issued.recipients.len() as f64 * (1.0 + self.windows.windows_scored as f64);
        let mut ids: Vec<u32> = self
            .accused
            .iter()
            .chain(self.windows.accused.iter().map(|(a, _)| a))
            .filter(|a| tests * a.tail <= issued.false_accusation)
            .map(|a| a.id)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}

/// Phantom recipients: never issued, scored on every leak next to the issued ones.
const PHANTOMS: std::ops::Range<u32> = 50_000_000..50_100_000;

fn examine(leak: &Clip) -> Verdict {
    let key = key();
    let issued = issued();
    // One whole-leak scoring of the issued and the phantoms together (one sync search);
    // the windows score the issued only.
    let mut everyone = issued.recipients.clone();
    everyone.extend(PHANTOMS);
    let detector = support::accumulate(leak);
    let evidence = detector.evidence();
    let whole = evidence.detect_with(&key, &IssuedCodewords::new(&key, &everyone), 1e-2);
    let max_tail = issued.false_accusation / issued.recipients.len() as f64;
    let (phantoms, accused): (Vec<Accused>, Vec<Accused>) = whole
        .accused
        .iter()
        .copied()
        .partition(|a| PHANTOMS.contains(&a.id));
    let codewords = IssuedCodewords::new(&key, &issued.recipients);
    let mut reader = evidence
        .window_reader(&key, leak.fps_f64(), Some((&issued, &codewords)))
        .unwrap();
    for frame in &leak.frames {
        reader.add_luma(frame.y.view(), 8).unwrap();
    }
    Verdict {
        recipient: whole.recipient,
        mixed_with: whole.mixed_with,
        accused: accused.into_iter().filter(|a| a.tail <= max_tail).collect(),
        windows: reader.finish(),
        phantom_tails: phantoms.iter().map(|a| a.tail).collect(),
    }
}

/// The observed rate of phantoms at or beyond each tail stays at or below it.
fn check_phantoms(what: &str, verdict: &Verdict) {
    for alpha in [1e-2, 1e-3, 1e-4, 1e-5] {
        let over = verdict
            .phantom_tails
            .iter()
            .filter(|&&t| t <= alpha)
            .count();
        eprintln!("{what}: {over} of 100000 phantoms at tail <= {alpha:e}");
        assert!(
            over as f64 <= alpha * 1e5,
            "{what}: {over} phantoms at {alpha:e}"
        );
    }
}

fn report(what: &str, verdict: &Verdict, issued: &Issued) -> Vec<u32> {
    let ids = verdict.accused_ids(issued);
    eprintln!(
        "{what}: decoded {:?} mixed with {:?}; accused {ids:?}; whole-leak tails {:?}; windows {:?}",
        verdict.recipient,
        verdict.mixed_with,
        verdict
            .accused
            .iter()
            .map(|a| (a.id, a.tail))
            .collect::<Vec<_>>(),
        verdict
            .windows
            .recipients
            .iter()
            .map(|r| (r.recipient, r.time_ranges.clone()))
            .collect::<Vec<_>>(),
    );
    let innocents: Vec<u32> = ids
        .iter()
        .copied()
        .filter(|id| !COLLUDERS.contains(id))
        .collect();
    assert!(
        innocents.is_empty(),
        "{what}: innocents accused: {innocents:?}"
    );
    let decoded = verdict.recipient.iter().chain(&verdict.mixed_with);
    assert!(decoded.clone().all(|id| COLLUDERS.contains(id)), "{what}");
    check_phantoms(what, verdict);
    ids
}

#[test]
fn averages_of_two_three_and_four_copies_after_crf26_accuse_the_colluders_and_no_one_else() {
    let issued = issued();
    for count in 2..=4 {
        let leak = attack(&average(&copies()[..count]), &Attack::h264(26));
        let verdict = examine(&leak);
        let ids = report(&format!("average of {count}, CRF 26"), &verdict, &issued);
        // Two copies averaged are within the budget of a 10 s 360p leak; three are at its
        // edge (one named) and four beyond it (see the README's collusion figures); never
        // an innocent.
        match count {
            2 => assert_eq!(ids, COLLUDERS[..count].to_vec(), "average of {count}"),
            3 => assert!(!ids.is_empty(), "average of {count}: no one accused"),
            _ => {}
        }
    }
}

#[test]
fn a_scene_by_scene_splice_names_each_colluder_where_their_scenes_are() {
    let issued = issued();
    for count in [3] {
        let leak = attack(&splice(&copies()[..count], 2.5), &Attack::h264(26));
        let verdict = examine(&leak);
        let what = format!("splice of {count} in 2.5 s scenes, CRF 26");
        let ids = report(&what, &verdict, &issued);
        assert_eq!(ids, COLLUDERS[..count].to_vec(), "{what}");
        // The timeline puts each colluder in their own scenes: at least 90 % of the time
        // it gives them lies there.
        for r in &verdict.windows.recipients {
            let index = COLLUDERS.iter().position(|&c| c == r.recipient).unwrap();
            let (mut inside, mut total) = (0.0, 0.0);
            for &(start, end) in &r.time_ranges {
                let mut t = start;
                while t < end {
                    let step = (end - t).min(0.05);
                    if ((t + step / 2.0) / 2.5) as usize % count == index {
                        inside += step;
                    }
                    total += step;
                    t += step;
                }
            }
            assert!(
                inside >= 0.9 * total,
                "{what}: {} at {:?}",
                r.recipient,
                r.time_ranges
            );
        }
        let timeline: Vec<u32> = verdict
            .windows
            .recipients
            .iter()
            .map(|r| r.recipient)
            .collect();
        for colluder in &COLLUDERS[..count] {
            assert!(
                timeline.contains(colluder),
                "{what}: {colluder} not in {timeline:?}"
            );
        }
    }
}

#[test]
fn an_average_of_two_upscaled_to_720p_crf28_accuses_both() {
    let issued = issued();
    let leak = attack(
        &average(&copies()[..2]),
        &Attack::h264(28).filter("scale=1280:720"),
    );
    let verdict = examine(&leak);
    let ids = report("average of 2, 720p CRF 28", &verdict, &issued);
    assert_eq!(ids, COLLUDERS[..2].to_vec());
}
