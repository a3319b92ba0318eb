//! Two-step (A/B) marks on real footage: each position's variant mark read back from short
//! windows of a re-encoded leak, and the session solved from the reads.

mod support;

use filigree::twostep::{SessionCode, SessionDecode, VariantMark};
use filigree::{EmbedConfig, Embedder, Key, Payload};
use support::{Attack, Clip, attack, decode, testdata, with_luma};

/// The shared 360p clips back to back: a 20 s title (live action, then animation).
fn title() -> Clip {
    let mut clip = decode(&testdata("tos_360p24_10s.mp4"), None);
    clip.frames
        .extend(decode(&testdata("caminandes_360p24_10s.mp4"), None).frames);
    clip
}

/// What a session's stream of the title is: at every position, the variant its codeword
/// names, marked with that position's variant mark.
fn session_stream(
    clip: &Clip,
    key: &Key,
    title_id: u16,
    session: u32,
    position_frames: usize,
) -> Clip {
    let code = SessionCode::new(key, title_id);
    let mark = |frame: usize| {
        let position = (frame / position_frames) as u32;
        Payload::Variant(VariantMark::new(
            title_id,
            position,
            code.variant(session, position),
        ))
    };
    let mut embedder = Embedder::with_payload(
        key,
        mark(0),
        clip.width,
        clip.height,
        &EmbedConfig::default(),
    )
    .unwrap();
    with_luma(clip, |i, luma| {
        if i % position_frames == 0 {
            embedder.set_payload(mark(i));
        }
        embedder.mark(luma.view_mut(), 8).unwrap();
    })
}

fn read_two_step(leak: &Clip, key: &Key) -> filigree::TwoStepDetection {
    let detector = support::accumulate(leak);
    let evidence = detector.evidence();
    let single = evidence.detect(key);
    assert_eq!(
        single.recipient, None,
        "a two-step stream carries no single recipient"
    );
    let mut reader = evidence.position_reader(key, leak.fps_f64()).unwrap();
    for frame in &leak.frames {
        reader.add_luma(frame.y.view(), 8).unwrap();
    }
    reader.finish()
}

/// Positions of half a second (12 frames), so the 20 s title has the 40 positions a 32-bit
/// session needs; real packages use 2 s positions, read more surely.
const POSITION_FRAMES: usize = 12;
const TITLE_ID: u16 = 7;
const SESSION: u32 = 0x5eed_1234;

/// Positions read right and wrong against the session's codeword.
fn tally(found: &filigree::TwoStepDetection, key: &Key) -> (usize, usize) {
    let code = SessionCode::new(key, TITLE_ID);
    let title = &found.titles[0];
    let wrong = title
        .positions
        .iter()
        .filter(|(p, v)| v.len() != 1 || v[0] != code.variant(SESSION, **p))
        .count();
    (title.positions.len() - wrong, wrong)
}

#[test]
fn a_720p_crf28_leak_identifies_its_session_and_an_excerpt_reads_its_own_positions() {
    let key = Key::from_bytes([21; 32]);
    let clip = title();
    let stream = session_stream(&clip, &key, TITLE_ID, SESSION, POSITION_FRAMES);

    let leak = attack(&stream, &Attack::h264(28).filter("scale=1280:720"));
    let found = read_two_step(&leak, &key);
    let (right, wrong) = tally(&found, &key);
    let title = &found.titles[0];
    eprintln!(
        "720p crf28: {} windows, {right} of 40 positions read, {wrong} wrong, {:?} after {:?} s, FP {:?}",
        found.windows_decoded,
        title.session,
        title.seconds_needed,
        title.false_positive_probability
    );
    assert_eq!(wrong, 0);
    assert!(found.titles.iter().all(|t| t.title == TITLE_ID));
    assert_eq!(title.session, SessionDecode::Identified(SESSION));
    assert!(title.false_positive_probability.unwrap() < 1e-9);
    assert!(found.mark_false_positive_probability.unwrap() < 1e-6);

    // An excerpt starting mid-position reads the positions it holds, numbered as in the title.
    let excerpt = attack(
        &stream,
        &Attack::h264(28).filter("scale=1280:720").excerpt(6.1, 8.0),
    );
    let found = read_two_step(&excerpt, &key);
    let (right, wrong) = tally(&found, &key);
    let positions: Vec<u32> = found.titles[0].positions.keys().copied().collect();
    eprintln!("8 s excerpt from 6.1 s: positions {positions:?}");
    assert_eq!(wrong, 0);
    assert!(right >= 12, "{right} positions read");
    assert!(
        positions.iter().all(|&p| (12..=29).contains(&p)),
        "{positions:?}"
    );
}

#[test]
fn a_wrong_key_and_unmarked_footage_read_no_position() {
    let key = Key::from_bytes([21; 32]);
    let clip = title();
    let stream = session_stream(&clip, &key, TITLE_ID, SESSION, POSITION_FRAMES);
    let leak = attack(&stream, &Attack::h264(23));
    let wrong_key = read_two_step(&leak, &Key::from_bytes([22; 32]));
    assert!(wrong_key.reads.is_empty() && wrong_key.titles.is_empty());
    assert_eq!(wrong_key.mark_false_positive_probability, None);
    let unmarked = read_two_step(&clip, &key);
    assert!(unmarked.reads.is_empty(), "{:?}", unmarked.reads);
}
