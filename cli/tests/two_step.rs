//! `filigree prepare`, `session` and `serve` from the command line: a small package, the
//! answers for a two-step copy too short to name its session, and bad input (one line,
//! exit 2, nothing left behind), including an interrupted prepare.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{entries, filigree, new_key, p, stderr, testdata};
use filigree_testsupport::ffprobe;

/// The live-action clip as a package: 1 s positions, one 240p rendition.
fn prepare(dir: &std::path::Path, key: &std::path::Path) -> std::path::PathBuf {
    let package = dir.join("package");
    let out = filigree(&[
        "prepare",
        "--quiet",
        "--key",
        p(key),
        "--title-id",
        "4",
        "--position-seconds",
        "1",
        "--ladder",
        "240",
        "--preset",
        "ultrafast",
        p(&testdata("tos_360p24_10s.mp4")),
        p(&package),
    ]);
    assert!(out.status.success(), "prepare: {}", stderr(&out));
    package
}

fn one_line_error(out: &std::process::Output, needle: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(needle), "{err:?} lacks {needle:?}");
}

#[test]
fn a_short_session_copy_is_a_two_step_mark_without_a_session_and_bad_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let key = new_key(dir.path(), "studio.key");
    let tokens = new_key(dir.path(), "tokens.key");
    let package = prepare(dir.path(), &key);
    let names = entries(&package);
    assert_eq!(
        names,
        [
            "240p.m3u8",
            "a",
            "b",
            "manifest.mpd",
            "master.m3u8",
            "package.json",
            "ranges",
            "wmpaceinfo",
            "wmpaceinfo.json"
        ]
    );
    assert_eq!(entries(&package.join("a/240p")).len(), 10 + 2); // segments, init, index

    let ledger = dir.path().join("sessions.jsonl");
    let session_new = |extra: &[&str]| {
        let mut args = vec![
            "session",
            "new",
            "--key",
            p(&key),
            "--token-key",
            p(&tokens),
            "--ledger",
            p(&ledger),
        ];
        args.extend(extra);
        args.push(p(&package));
        filigree(&args)
    };
    let out = session_new(&[
        "--label",
        "critic-4",
        "--session",
        "0000abcd",
        "--expires-in",
        "2h",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let opened: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(opened["session"], "0000abcd");
    let token = opened["token"].as_str().unwrap();
    assert_eq!(opened["player"], format!("/play/{token}"));
    let ledger_text = std::fs::read_to_string(&ledger).unwrap();
    assert!(!ledger_text.contains(token), "the ledger holds no token");

    // A CDN token (a CWT for an A/B edge) must expire; its pattern is the session's.
    one_line_error(
        &session_new(&["--token-format", "cwt"]),
        "a CDN token must expire",
    );
    let out = session_new(&[
        "--token-format",
        "cwt",
        "--expires-in",
        "1h",
        "--session",
        "0000abce",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let opened: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let cdn_token = opened["token"].as_str().unwrap();
    assert_eq!(opened["player"], format!("/t/4/play/{cdn_token}"));
    let token_key = filigree::Key::load(&tokens).unwrap();
    let keys = filigree::twostep::cwt::EdgeKeys::of(&token_key);
    let claims = filigree::twostep::cwt::verify(&keys, cdn_token, 0).unwrap();
    let package_opened = filigree::twostep::Package::open(&package).unwrap();
    let code = package_opened
        .session_code(&filigree::Key::load(&key).unwrap())
        .unwrap();
    assert_eq!((claims.session, claims.title_id), (0xabce, 4));
    assert_eq!(claims.pattern.len(), 10);
    for (position, variant) in claims.pattern.iter().enumerate() {
        assert_eq!(*variant, code.variant(0xabce, position as u32));
    }
    // The edge's folder: nginx configuration, script and private keys; never twice.
    let edge = dir.path().join("edge");
    let args = [
        "edge",
        "--quiet",
        "--token-key",
        p(&tokens),
        "--out",
        p(&edge),
    ];
    let web = filigree_testsupport::repo().join("server/web");
    let out = filigree(&[&args[..], &["--web", p(&web), p(&package)]].concat());
    assert!(out.status.success(), "{}", stderr(&out));
    let conf = std::fs::read_to_string(edge.join("nginx.conf")).unwrap();
    assert!(conf.contains("location /t/4/"), "{conf}");
    let keys_file = edge.join("edge-keys.conf");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&keys_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let token_key_hex = std::fs::read_to_string(&tokens).unwrap();
    let token_key_hex = token_key_hex.lines().nth(1).unwrap();
    for file in ["nginx.conf", "edge-keys.conf", "filigree-edge.js"] {
        let text = std::fs::read_to_string(edge.join(file)).unwrap();
        assert!(!text.contains(token_key_hex), "{file} holds the token key");
    }
    let out = filigree(&[&args[..], &["--web", p(&web), p(&package)]].concat());
    one_line_error(&out, "holds an edge already");

    let copy = dir.path().join("copy.mp4");
    let out = filigree(&[
        "session",
        "mp4",
        "--key",
        p(&key),
        "--session",
        "0000abcd",
        p(&package),
        p(&copy),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    // Ten positions cannot fix 32 session bits: the answer says a mark is there, and why
    // no session is named.
    let out = filigree(&["detect", "--key", p(&key), p(&copy)]);
    let line = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{line}");
    assert!(
        line.contains("two-step mark present (title 4, 10 positions read"),
        "{line}"
    );
    assert!(
        line.contains("not enough video to identify the session"),
        "{line}"
    );
    let out = filigree(&["detect", "--json", "--key", p(&key), p(&copy)]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["found"], false);
    assert_eq!(json["two_step"]["mark_present"], true);
    assert_eq!(json["two_step"]["decode"], "undetermined");
    assert_eq!(json["two_step"]["positions_read"], 10);

    // Bad input: one line, exit 2.
    let other = new_key(dir.path(), "other.key");
    let out = filigree(&[
        "session",
        "mp4",
        "--key",
        p(&other),
        "--session",
        "0000abcd",
        p(&package),
        p(&dir.path().join("x.mp4")),
    ]);
    one_line_error(&out, "prepared under key");
    assert!(!dir.path().join("x.mp4").exists());
    let out = filigree(&[
        "session",
        "new",
        "--key",
        p(&key),
        "--token-key",
        p(&key),
        "--ledger",
        p(&ledger),
        p(&package),
    ]);
    one_line_error(&out, "token key must not be the marking key");
    let out = filigree(&[
        "prepare",
        "--key",
        p(&key),
        "--positions",
        "5..3",
        p(&testdata("tos_360p24_10s.mp4")),
        p(&package),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let out = filigree(&[
        "prepare",
        "--key",
        p(&key),
        "--ladder",
        "480",
        p(&testdata("tos_360p24_10s.mp4")),
        p(&dir.path().join("tall")),
    ]);
    one_line_error(&out, "at most the master's 360");
    let out = filigree(&[
        "prepare",
        "--finalize",
        "--key",
        p(&key),
        p(&testdata("tos_360p24_10s.mp4")),
        p(&dir.path().join("none")),
    ]);
    one_line_error(&out, "no prepared ranges");
    let out = filigree(&[
        "serve",
        "--key",
        p(&key),
        "--token-key",
        p(&tokens),
        "--web",
        p(dir.path()),
        p(&package),
    ]);
    one_line_error(&out, "web player file");
    let out = filigree(&[
        "serve",
        "--key",
        p(&key),
        "--token-key",
        p(&tokens),
        p(dir.path()),
    ]);
    one_line_error(&out, "package.json");
}

#[test]
fn an_interrupted_prepare_exits_130_and_leaves_no_temporaries_or_range_record() {
    let dir = tempfile::tempdir().unwrap();
    let key = new_key(dir.path(), "studio.key");
    let package = dir.path().join("package");
    let mut child = Command::new(env!("CARGO_BIN_EXE_filigree"))
        .args([
            "prepare",
            "--quiet",
            "--key",
            p(&key),
            "--ladder",
            "360,240",
        ])
        .args([p(&testdata("tos_360p24_10s.mp4")), p(&package)])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Interrupted once marking is under way: a work file holds its first fragment of
    // marked, encoded frames.
    let marked_frames_written = || {
        walk(&package.join(".work")).iter().any(|work| {
            std::fs::read(work).is_ok_and(|bytes| bytes.windows(4).any(|w| w == b"moof"))
        })
    };
    let started = Instant::now();
    while !marked_frames_written() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "prepare ended before marking: {}",
            stderr(&child.wait_with_output().unwrap())
        );
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no encoded frames after 60 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted by SIGINT"), "{err}");
    let mut left = Vec::new();
    for entry in walk(&package) {
        let name = entry.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with(".filigree-") || entry.extension().is_some_and(|e| e == "json") {
            left.push(entry);
        }
    }
    assert!(left.is_empty(), "{left:?}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(read) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    read.flatten()
        .flat_map(|e| {
            let path = e.path();
            if path.is_dir() {
                walk(&path)
            } else {
                vec![path]
            }
        })
        .collect()
}

#[test]
fn a_master_with_audio_gets_one_audio_rendition_and_session_copies_carry_it() {
    let dir = tempfile::tempdir().unwrap();
    let key = new_key(dir.path(), "studio.key");
    let package = dir.path().join("package");
    let out = filigree(&[
        "prepare",
        "--quiet",
        "--key",
        p(&key),
        "--position-seconds",
        "1",
        "--ladder",
        "360",
        "--preset",
        "ultrafast",
        p(&testdata("bbb_720p25_5s.mp4")),
        p(&package),
    ]);
    assert!(out.status.success(), "prepare: {}", stderr(&out));
    let master = std::fs::read_to_string(package.join("master.m3u8")).unwrap();
    assert!(
        master.contains("#EXT-X-MEDIA:TYPE=AUDIO,URI=\"audio.m3u8\""),
        "{master}"
    );
    assert!(
        master.contains("AUDIO=\"audio\"") && master.contains("mp4a.40.2"),
        "{master}"
    );
    let audio = std::fs::read_to_string(package.join("audio.m3u8")).unwrap();
    assert!(
        audio.contains("audio/init.mp4") && audio.contains("audio/000004.m4s"),
        "{audio}"
    );
    // The audio is encoded once: no audio under the variants.
    assert!(!package.join("a/audio").exists() && !package.join("b/audio").exists());

    let copy = dir.path().join("copy.mp4");
    let out = filigree(&[
        "session",
        "mp4",
        "--key",
        p(&key),
        "--session",
        "00c0ffee",
        p(&package),
        p(&copy),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let streams = ffprobe(
        &[
            "-show_entries",
            "stream=codec_name,channels",
            "-of",
            "csv=p=0",
        ],
        &copy,
    );
    assert!(
        streams.contains("h264") && streams.contains("aac,6"),
        "{streams}"
    );
}
