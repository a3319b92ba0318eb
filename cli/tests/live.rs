//! Live sessions end to end, with `filigree serve --live` as a process: a viewer's 360p
//! stream rendered as they watch (overlay and full mark in every frame) plays through the
//! web player in headless Chromium from start to end without a stall; what the browser
//! fetched, re-encoded at 720p CRF 28, gives the session's exact ID and, by OCR, its overlay
//! text; a session beyond capacity gets 503 with Retry-After; the player's leaving frees the
//! renderer for the next viewer; a server killed mid-session leaves the package and the
//! ledger intact, and its next start sweeps what it left.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Server, entries, ffmpeg, filigree, new_key, open_live, p, stderr};
use filigree_testsupport::{http, leak_720p, player, repo};
use serde_json::Value;

fn load(address: SocketAddr) -> Value {
    let (status, _, body) = http(address, "GET", "/load");
    assert_eq!(status, 200);
    serde_json::from_slice::<Value>(&body).unwrap()["live"].clone()
}

/// Waits until the server's live sessions number `n` (the player's leave is a beacon).
fn await_sessions(address: SocketAddr, n: u64) -> Value {
    let started = Instant::now();
    loop {
        let live = load(address);
        if live["sessions"] == n || started.elapsed() > Duration::from_secs(10) {
            return live;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Every file under `dir` with its bytes, sorted: what "left intact" is checked against.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push((path.clone(), std::fs::read(&path).unwrap()));
            }
        }
    }
    files.sort();
    files
}

/// What tesseract reads in the bottom-right overlay of the frame at `seconds`, after
/// turning its light text black on white at three brightness thresholds (the text is
/// blended over the picture, so the best threshold depends on the scene).
fn ocr_overlay(video: &Path, seconds: f64, dir: &Path) -> Vec<String> {
    [160, 190, 215]
        .iter()
        .map(|threshold| {
            let still = dir.join(format!("overlay-{seconds}-{threshold}.png"));
            let filter = format!(
                "crop=iw*0.6:ih*0.14:iw*0.4:ih*0.86,format=gray,scale=iw*3:-1:flags=bicubic,\
                 lutyuv=y='if(gt(val,{threshold}),0,255)',pad=iw+40:ih+40:20:20:white"
            );
            ffmpeg(&[
                "-ss",
                &seconds.to_string(),
                "-i",
                p(video),
                "-frames:v",
                "1",
                "-vf",
                &filter,
                p(&still),
            ]);
            let out = Command::new("tesseract")
                .arg(&still)
                .args(["-", "--psm", "7"])
                .output()
                .expect("tesseract runs (scripts/setup-debian installs it)");
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        })
        .collect()
}

#[test]
fn a_live_session_plays_ahead_of_real_time_and_its_capture_names_the_viewer() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A 20 s 360p title: the two shared 360p clips.
    let title = d.join("title.mp4");
    filigree_testsupport::title(&title, &["tos_360p24_10s.mp4", "caminandes_360p24_10s.mp4"]);
    let (key, token_key) = (new_key(d, "studio.key"), new_key(d, "tokens.key"));
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
    let (first, token) = open_live(&key, &token_key, &ledger, &package, "critic-7");
    let (second, second_token) = open_live(&key, &token_key, &ledger, &package, "critic-8");
    let package_before = snapshot(&package);

    let work = d.join("live-work");
    let web = repo().join("server/web");
    let serve_args = [
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
        "--live-idle",
        "60s",
        "--live-work",
        p(&work),
        "--cpu",
        p(&package),
    ];
    let server = Server::start(&serve_args);
    let address = server.address;

    // Bad requests: 4xx, never a crash.
    let forged = format!("{}{}", &token[..40], "0".repeat(24));
    assert_eq!(
        http(address, "GET", &format!("/s/{forged}/master.m3u8")).0,
        403
    );
    assert_eq!(
        http(address, "GET", &format!("/s/{token}/live/999999.m4s")).0,
        404
    );
    assert_eq!(
        http(address, "GET", &format!("/s/{token}/live/x.m4s")).0,
        404
    );
    assert_eq!(
        http(address, "GET", &format!("/s/{token}/360p/000000.m4s")).0,
        404
    );
    assert_eq!(
        http(address, "POST", &format!("/s/{token}/master.m3u8")).0,
        405
    );

    // The viewer plays the whole title; meanwhile a second viewer is turned away.
    let played = d.join("played");
    let browser = player(&format!("http://{address}/play/{token}"), &played)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs (scripts/setup-debian installs it, with Chromium)");
    let started = Instant::now();
    while load(address)["sessions"] != 1 && started.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let (status, head, _) = http(address, "GET", &format!("/s/{second_token}/master.m3u8"));
    assert_eq!(status, 503, "beyond capacity");
    assert!(head.contains("retry-after: "), "{head}");
    let busy = load(address);
    assert_eq!(
        (busy["sessions"].as_u64(), busy["capacity"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(busy["sessions_refused"], 1);
    assert_eq!(busy["encoder"], "libx264");

    let browser = browser.wait_with_output().unwrap();
    assert!(
        browser.status.success(),
        "browser playback failed: {}",
        String::from_utf8_lossy(&browser.stderr)
    );
    let summary: Value = serde_json::from_slice(&browser.stdout).unwrap();
    eprintln!("player: {summary}");
    assert_eq!(summary["live"], true);
    assert_eq!(summary["ended"], true, "played to the end");
    assert!(
        summary["played_seconds"].as_f64().unwrap() >= 19.5,
        "{summary}"
    );
    let first_frame = summary["first_frame_seconds"].as_f64().unwrap();
    assert!(first_frame < 3.0, "first frame after {first_frame} s");
    // Ahead of real time for the whole title: playback never waited for a segment.
    assert_eq!(summary["stalls"], 0, "{summary}");

    // The player's leave ended the session: the renderer takes the next viewer.
    let after = await_sessions(address, 0);
    assert_eq!(after["sessions"], 0, "{after}");
    assert_eq!(
        http(address, "GET", &format!("/s/{second_token}/master.m3u8")).0,
        200,
        "the freed renderer admits the next viewer"
    );

    // A screen capture of the browser: the fetched stream, re-encoded at 720p CRF 28.
    let fetched: Value =
        serde_json::from_slice(&std::fs::read(played.join("fetched.json")).unwrap()).unwrap();
    // The initialisation segment, then each media segment once, in title order (responses
    // arrive in any order).
    let mut pieces = std::collections::BTreeMap::new();
    for entry in fetched.as_array().unwrap() {
        let url = entry["url"].as_str().unwrap();
        let name = url.rsplit('/').next().unwrap();
        let order = if name == "init.mp4" {
            String::new()
        } else {
            name.to_string()
        };
        pieces.insert(order, played.join(entry["file"].as_str().unwrap()));
    }
    assert_eq!(pieces.len(), 11, "init and 10 segments: {pieces:?}");
    let mut stream = Vec::new();
    for file in pieces.values() {
        stream.extend(std::fs::read(file).unwrap());
    }
    let captured = d.join("captured.mp4");
    std::fs::write(&captured, stream).unwrap();
    let leak = d.join("leak.mp4");
    leak_720p(&captured, &leak);
    let out = filigree(&[
        "detect",
        "--json",
        "--quiet",
        "--key",
        p(&key),
        "--ledger",
        p(&ledger),
        p(&leak),
    ]);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{json}");
    assert_eq!(json["recipient"], first, "{json}");
    assert_eq!(json["label"], "critic-7", "{json}");
    assert!(
        json["false_positive_probability"].as_f64().unwrap() <= 1e-9,
        "{json}"
    );
    let session_hex = format!("{first:08x}");
    assert_eq!(json["live_session"], session_hex, "{json}");
    let out = filigree(&[
        "detect",
        "--quiet",
        "--key",
        p(&key),
        "--ledger",
        p(&ledger),
        p(&leak),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("live session {session_hex} (critic-7) found")),
        "{text}"
    );
    // The overlay's text, read back by OCR from frames across the capture.
    let times = [2.0, 5.0, 8.0, 11.0, 14.0, 17.0];
    let reads: Vec<Vec<String>> = times.iter().map(|&t| ocr_overlay(&leak, t, d)).collect();
    eprintln!("OCR: {reads:?}");
    // Compared as letters and digits only: OCR reads the label's hyphen as ':' or '.'. A
    // frame counts when one of its readings holds the label and all 8 digits of the session.
    let letters = |text: &str| -> String {
        text.chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_lowercase()
    };
    let read_on = |wanted: &str, frame: &Vec<String>| {
        frame.iter().any(|r| letters(r).contains(&letters(wanted)))
    };
    let expected = format!("critic-7 {session_hex}");
    let legible = reads
        .iter()
        .filter(|frame| read_on(&expected, frame))
        .count();
    assert!(
        legible >= 3,
        "label and session read on {legible} of 6 frames: {reads:?}"
    );
    // The timecode counts the title's frames (the frame at 8 s shows 00:00:08:00).
    let timecodes = times
        .iter()
        .zip(&reads)
        .filter(|(t, frame)| read_on(&format!("00:00:{:02}:00", **t as u32), frame))
        .count();
    assert!(timecodes >= 1, "no timecode read: {reads:?}");

    // Killed mid-session (the second viewer's, now rendering): package and ledger intact.
    let (status, _, _) = http(
        address,
        "GET",
        &format!("/s/{second_token}/live/000001.m4s"),
    );
    assert_eq!(status, 200);
    // Besides the master's recorded hash, which start-ups keep.
    let sessions = || -> Vec<String> {
        let mut left = entries(&work);
        left.retain(|name| name != "master-sha256.json");
        left
    };
    let left = sessions();
    assert_eq!(left.len(), 1, "one session folder: {left:?}");
    server.signal("-KILL");
    drop(server);
    assert_eq!(
        snapshot(&package),
        package_before,
        "the package is untouched"
    );
    let out = filigree(&["ledger", "verify", p(&ledger)]);
    assert!(out.status.success(), "ledger verify: {}", stderr(&out));
    let entries_json = filigree(&["ledger", "show", "--json", p(&ledger)]);
    let text = String::from_utf8_lossy(&entries_json.stdout);
    assert!(text.contains(&format!("{second}")), "{text}");
    // The next start sweeps the killed server's session folder; SIGTERM stops it cleanly.
    let server = Server::start(&serve_args);
    assert!(sessions().is_empty(), "{:?}", entries(&work));
    server.signal("-TERM");
    let mut server = server;
    let status = server.child.wait().unwrap();
    assert!(status.success(), "{status}");
}
