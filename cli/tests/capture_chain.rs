//! A real capture chain: a live session's stream played by the web player in Debian's
//! Chromium with a window on an Xvfb screen (kiosk, not headless), the screen recorded with
//! FFmpeg's x11grab (real frame timing, browser scaling and colour conversion), then filmed
//! by the simulated shaking phone of `scripts/handheld-leak` (2 % of the width at 1.5 Hz,
//! 720p H.264 CRF 30). The title is a scope (2.39:1) master letterboxed in 16:9, so the
//! picture's outline, its edges against the bars and the monitor's bezel, can be tracked.
//! `scripts/capture-chain` runs the same chain and prints what it measured.
//!
//! Needs Xvfb, Chromium and node with the player's packages (`scripts/setup-debian`): it
//! fails, not skips, where they are missing.

mod common;

use std::process::Stdio;
use std::time::UNIX_EPOCH;

use common::{Server, detect_json, filigree, new_key, open_live, p, stderr};
use filigree_testsupport::{ScreenRecorder, Xvfb, ffprobe, handheld_leak, http, player, repo};
use serde_json::Value;

#[test]
fn a_live_session_played_on_a_screen_recorded_and_filmed_by_a_shaking_phone_names_the_viewer() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A 24 s scope title at 640x360 (the picture 640x268 between grainy bars).
    let title = d.join("title.mp4");
    handheld_leak(&["master", p(&title), "--seconds", "24", "--height", "360"]);
    let (key, token_key) = (new_key(d, "studio.key"), new_key(d, "tokens.key"));
    let wrong = new_key(d, "other.key");
    let package = d.join("package");
    let out = filigree(&[
        "prepare",
        "--quiet",
        "--key",
        p(&key),
        "--ladder",
        "360",
        "--preset",
        "veryfast",
        p(&title),
        p(&package),
    ]);
    assert!(out.status.success(), "prepare: {}", stderr(&out));
    let ledger = d.join("ledger.jsonl");
    let (session, token) = open_live(&key, &token_key, &ledger, &package, "critic-11");
    let web = repo().join("server/web");
    let server = Server::start(&[
        "--key",
        p(&key),
        "--token-key",
        p(&token_key),
        "--ledger",
        p(&ledger),
        "--listen",
        "127.0.0.1:0",
        "--web",
        p(&web),
        "--live",
        p(&title),
        "--live-capacity",
        "1",
        "--live-work",
        p(&d.join("live-work")),
        "--cpu",
        p(&package),
    ]);

    // The renderer makes every segment before playback, as for a player that buffered the
    // whole title first: the recording then does not hang on the renderer keeping up on
    // shared cores (`cli/tests/live.rs` measures that).
    let address = server.address;
    let get = |path: &str| {
        let (status, _, body) = http(address, "GET", &format!("/s/{token}/{path}"));
        assert_eq!(status, 200, "{path}");
        body
    };
    get("master.m3u8");
    let playlist = String::from_utf8(get("live.m3u8")).unwrap();
    let segments: Vec<&str> = playlist
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect();
    assert_eq!(segments.len(), 12, "{playlist}");
    for segment in segments {
        get(segment);
    }

    // The screen, recorded from before the browser opens until the player has ended.
    let screen = Xvfb::start(1280, 720);
    let recording = d.join("recording.mp4");
    let recorder = ScreenRecorder::start(&screen, 30, &recording);
    let recording_began = recorder
        .started
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let played = player(
        &format!("http://{}/play/{token}", server.address),
        &d.join("played"),
    )
    .args(["--display", &screen.display, "--screen", &screen.size])
    .stdin(Stdio::null())
    .output()
    .expect("node runs (scripts/setup-debian installs it, with Chromium)");
    let recorded = recorder.stop();
    drop(screen);
    drop(server);
    assert!(
        played.status.success(),
        "browser playback failed: {}",
        stderr(&played)
    );
    let summary: Value = serde_json::from_slice(&played.stdout).unwrap();
    eprintln!("player: {summary}");
    eprintln!("recorded: {recorded:?}");
    assert_eq!(summary["live"], true, "{summary}");
    assert_eq!(summary["ended"], true, "played to the end: {summary}");
    let played_seconds = summary["played_seconds"].as_f64().unwrap();
    assert!(played_seconds >= 23.5, "{summary}");

    // What the recording holds: 1280x720 at 30 fps for the whole playback. Frames the
    // grabber missed (it competes for the cores with the browser and everything else on
    // the machine) were filled by FFmpeg with duplicates: 99.8 % were real on a machine
    // running two other jobs, 64 %, 34 % and 22 % with four (the session was named from
    // 34 %), so a tenth is asked for here: a recording, not a still. Detection is the test.
    let probe = ffprobe(
        &[
            "-select_streams",
            "v:0",
            "-count_frames",
            "-show_entries",
            "stream=width,height,nb_read_frames:format=duration",
            "-of",
            "json",
        ],
        &recording,
    );
    let probe: Value = serde_json::from_str(&probe).unwrap();
    let stream = &probe["streams"][0];
    assert_eq!(
        (stream["width"].as_u64(), stream["height"].as_u64()),
        (Some(1280), Some(720))
    );
    let seconds: f64 = probe["format"]["duration"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(seconds >= played_seconds, "{seconds} s recorded");
    let grabbed = recorded.frames - recorded.duplicated + recorded.dropped;
    let expected = seconds * 30.0;
    eprintln!("recording: {seconds:.2} s, {grabbed} frames grabbed of {expected:.0} expected");
    assert!(
        grabbed as f64 >= 0.1 * expected,
        "{recorded:?} in {seconds} s"
    );

    // The phone films the monitor from a second after the first frame played (the
    // player's loading veil is gone by then) to the end of playback.
    let first_frame = summary["requested_at_ms"].as_f64().unwrap() / 1000.0
        + summary["first_frame_seconds"].as_f64().unwrap();
    let start = (first_frame - recording_began + 1.0).max(0.0);
    let leak = d.join("leak.mp4");
    handheld_leak(&[
        "leak",
        p(&recording),
        p(&leak),
        "--shake",
        "0.02",
        "--hz",
        "1.5",
        "--start",
        &format!("{start:.3}"),
        "--seconds",
        &format!("{:.3}", played_seconds - 1.0),
    ]);

    let (code, found) = detect_json(&key, &leak, &["--ledger", p(&ledger)]);
    eprintln!("detected: {found}");
    assert_eq!(code, 0, "{found}");
    assert_eq!(found["recipient"], session, "{found}");
    assert_eq!(found["live_session"], format!("{session:08x}"), "{found}");
    assert_eq!(found["label"], "critic-11", "{found}");
    assert_eq!(found["tracked"], true, "{found}");
    let fp = found["false_positive_probability"].as_f64().unwrap();
    assert!(fp <= 1e-9, "{found}");

    // The wrong key on the same leak: no watermark, though the canvas is searched too.
    let (code, other) = detect_json(&wrong, &leak, &[]);
    eprintln!("wrong key: {other}");
    assert_eq!(
        (code, &other["mark_present"]),
        (1, &Value::Bool(false)),
        "{other}"
    );
}
