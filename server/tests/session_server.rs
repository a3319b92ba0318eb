//! The session server end to end on real footage: prepare a package, open a session,
//! play it in headless Chromium through the web player, and detect the session in what
//! the browser fetched after a 720p CRF 28 re-encode. Bad tokens and missing segments are
//! answered 403 and 404.

use std::path::Path;

mod common;

use common::start;
use filigree::Key;
use filigree::twostep::Package;
use filigree::twostep::prepare::{PreparePlan, prepare};
use filigree::twostep::session::{SessionClaims, issue, open_session};
use filigree_testsupport::{fetched_stream, http, leak_720p, player, repo, title};

#[test]
fn a_session_played_in_chromium_detects_to_that_session_and_bad_requests_get_4xx() {
    let dir = tempfile::tempdir().unwrap();
    // A 60 s 360p title: the two shared 360p clips, three times (a session of a 40 s title
    // is named only after 32-37.5 s of its 39.4 s leak: too little margin for a test), and
    // a fixed session, so that the test is the same experiment every run.
    let master = dir.path().join("title.mp4");
    let (tos, cam) = ("tos_360p24_10s.mp4", "caminandes_360p24_10s.mp4");
    title(&master, &[tos, cam, tos, cam, tos, cam]);
    let key = Key::from_bytes([51; 32]);
    let token_key = Key::from_bytes([52; 32]);
    let package_dir = dir.path().join("package");
    let plan = PreparePlan {
        title_id: 5,
        position_seconds: 0.5,
        ladder: vec![360, 240],
        crf: 23,
        preset: "veryfast".into(),
        strength: 1.0,
    };
    prepare(&master, &package_dir, &key, &plan, None, &mut |_, _| {}).unwrap();
    let package = Package::open(&package_dir).unwrap();
    let ledger = dir.path().join("ledger.jsonl");
    let label = "critic-42@example.org";
    let opened = open_session(
        &package,
        &key,
        &token_key,
        &ledger,
        Some(label),
        Some(0x3c3c_3c3c),
        Some(3600),
    )
    .unwrap();
    let other_title = issue(
        &token_key,
        &SessionClaims {
            title_id: 6,
            ..opened.claims
        },
    );
    let expired = issue(
        &token_key,
        &SessionClaims {
            expires: Some(1),
            ..opened.claims
        },
    );
    let forged = issue(&Key::from_bytes([53; 32]), &opened.claims);

    let address = start(filigree_server::Config {
        package: package_dir.clone(),
        key: key.clone(),
        token_key: token_key.clone(),
        ledger: Some(ledger.clone()),
        web: repo().join("server/web"),
        listen: "127.0.0.1:0".parse().unwrap(),
        live: None,
    });
    let token = &opened.token;
    let status = |path: &str| http(address, "GET", path).0;
    assert_eq!(status(&format!("/s/{token}/master.m3u8")), 200);
    assert_eq!(status(&format!("/s/{token}/360p/000119.m4s")), 200);
    assert_eq!(status(&format!("/s/{token}/360p/000120.m4s")), 404);
    assert_eq!(status(&format!("/s/{token}/360p/../../package.json")), 404);
    assert_eq!(status(&format!("/s/{token}/1080p.m3u8")), 404);
    assert_eq!(status("/s/"), 403);
    for bad in [&forged, &other_title, &expired, "0000"] {
        assert_eq!(status(&format!("/s/{bad}/master.m3u8")), 403, "{bad}");
        assert_eq!(status(&format!("/s/{bad}/360p/000000.m4s")), 403, "{bad}");
        assert_eq!(status(&format!("/play/{bad}")), 403, "{bad}");
    }

    let played = dir.path().join("played");
    let screenshot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("player-screenshot.png");
    let node = player(&format!("http://{address}/play/{token}"), &played)
        .arg("--screenshot")
        .arg(&screenshot)
        .output()
        .expect("node runs (scripts/setup-debian installs it, with Chromium)");
    assert!(
        node.status.success(),
        "browser playback failed: {}",
        String::from_utf8_lossy(&node.stderr)
    );
    eprintln!("{}", String::from_utf8_lossy(&node.stdout).trim());
    eprintln!("screenshot: {}", screenshot.display());

    let stream = fetched_stream(&played);
    let leak = dir.path().join("leak.mp4");
    leak_720p(&stream, &leak);
    let found = filigree::pipeline::detect_file(
        &leak,
        &key,
        &filigree::pipeline::ReadPlan::fast(None),
        &mut |_, _| {},
    )
    .unwrap();
    let two_step = found.two_step.expect("read as two-step");
    let title = &two_step.titles[0];
    eprintln!(
        "leak: {} positions read, {:?} after {:?} s, FP {:?}",
        title.positions.len(),
        title.session,
        title.seconds_needed,
        title.false_positive_probability
    );
    assert_eq!(two_step.session(), Some((5, opened.claims.session)));
    let entry =
        filigree::ledger::find_session(&ledger, 5, opened.claims.session, &key.fingerprint())
            .unwrap()
            .unwrap();
    assert_eq!(entry.label.as_deref(), Some(label));
}
