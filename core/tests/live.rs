//! Live renders of a rendition smaller than the master: each segment decoded from the 720p
//! master at 360p, overlaid and marked at that size, rendered out of order (a viewer's
//! seek), and the joined stream, captured at 720p CRF 28, names the session.

mod support;

use std::sync::Arc;

use filigree::Key;
use filigree::live::{self, LiveSpec, LiveTiming, Renderer};
use filigree::marker::CpuMarker;
use filigree::overlay::{OverlayConfig, SessionInfo};
use filigree::pipeline::{ReadPlan, detect_file};
use filigree::video::FrameSource;
use filigree::video::ffmpeg::FfmpegReader;
use filigree_testsupport::leak_720p;
use support::{probe, testdata};

#[test]
fn a_360p_render_of_a_720p_master_is_marked_at_360p_and_its_capture_names_the_session() {
    let dir = tempfile::tempdir().unwrap();
    let master = testdata("bbb_720p25_5s.mp4");
    let info = FfmpegReader::open(&master).unwrap().info().clone();
    let timing = LiveTiming::new(
        info.frame_rate,
        info.frames_hint.expect("the clip states its frames"),
        live::SEGMENT_SECONDS,
    );
    assert_eq!(timing.segments(), 3, "{timing:?}");
    let session = 0x5eed_0042;
    let spec = LiveSpec {
        master: master.clone(),
        key: Key::from_bytes([0x4c; 32]),
        recipient: session,
        strength: 1.0,
        overlay: Some(OverlayConfig {
            template: "{label}  {session}".into(),
            ..OverlayConfig::default()
        }),
        session: SessionInfo::new(session, Some("critic-3".into()), format!("{session:08x}")),
        height: Some(360),
        encode: live::live_encoder(false, 23),
        timing,
    };
    let out = dir.path().join("session");
    // The viewer starts at 2 s, then seeks back to the start.
    let mut renderer = Renderer::open(spec.clone(), &out, Arc::new(CpuMarker::create), 1).unwrap();
    assert_eq!(renderer.size(), (640, 360));
    assert_eq!(renderer.render_next().unwrap(), Some(1));
    assert_eq!(renderer.render_next().unwrap(), Some(2));
    assert_eq!(renderer.render_next().unwrap(), None, "past the end");
    renderer.seek(0).unwrap();
    assert_eq!(renderer.render_next().unwrap(), Some(0));

    let mut stream = std::fs::read(out.join(live::INIT)).unwrap();
    for segment in 0..3 {
        stream.extend(std::fs::read(out.join(live::segment_name(segment))).unwrap());
    }
    let joined = dir.path().join("joined.mp4");
    std::fs::write(&joined, stream).unwrap();
    let (width, height, _) = probe(&joined);
    assert_eq!((width, height), (640, 360));
    let mut reader = FfmpegReader::open(&joined).unwrap();
    let mut frames = 0;
    while reader.next_frame().unwrap().is_some() {
        frames += 1;
    }
    assert_eq!(frames, timing.frames, "every frame of the title, once");

    let leak = dir.path().join("leak.mp4");
    leak_720p(&joined, &leak);
    let found = detect_file(&leak, &spec.key, &ReadPlan::full(None), &mut |_, _| {}).unwrap();
    assert_eq!(found.detection.recipient, Some(session), "{found:?}");
    assert!(
        found.detection.false_positive_probability.unwrap() <= 1e-9,
        "{:?}",
        found.detection
    );
}
