//! Film masters as they are delivered, through the `filigree` binary: ProRes and DNxHR in
//! 10-bit 4:2:2 with a timecode track and PCM audio, screeners out in other codecs and pixel
//! formats, interlaced masters refused, and interrupted or killed embeds leaving nothing
//! that looks like an output. Clips are 2-3 s cut from `testdata/` with Debian's ffmpeg.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

use common::*;
use filigree_testsupport::ffprobe_json;

const RECIPIENT: &str = "1234567";

/// One key for every test here.
fn key() -> &'static Path {
    static KEY: OnceLock<(TempDir, PathBuf)> = OnceLock::new();
    let (_, key) = KEY.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let key = new_key(dir.path(), "studio.key");
        (dir, key)
    });
    key
}

/// `filigree embed --quiet --key K --recipient RECIPIENT EXTRA... INPUT OUTPUT`.
fn embed(input: &Path, output: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "embed",
        "--quiet",
        "--key",
        p(key()),
        "--recipient",
        RECIPIENT,
    ];
    args.extend_from_slice(extra);
    args.extend([p(input), p(output)]);
    filigree(&args)
}

fn assert_success(what: &str, out: &Output) {
    assert!(out.status.success(), "{what}: {}", stderr(out));
}

/// Asserts that `input` carries RECIPIENT.
fn assert_detects(input: &Path) {
    let out = filigree(&["detect", "--json", "--quiet", "--key", p(key()), p(input)]);
    let json: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("detect json ({e}): {}", stderr(&out)));
    assert_eq!(out.status.code(), Some(0), "{}: {json}", input.display());
    assert_eq!(json["recipient"].to_string(), RECIPIENT, "{json}");
    let fp = json["false_positive_probability"].as_f64().unwrap();
    assert!(fp < 1e-9, "{}: fp {fp}", input.display());
}

/// Asserts the error contract: exit 2, one line naming `needle`, and `dir` holding exactly
/// `files` afterwards.
fn assert_refused(what: &str, out: &Output, needle: &str, dir: &Path, files: &[&str]) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{what}: {err}");
    assert_eq!(err.lines().count(), 1, "{what}: one line expected: {err}");
    assert!(err.contains(needle), "{what}: expected {needle:?} in {err}");
    assert_eq!(entries(dir), files, "{what}: leftovers");
}

fn stream<'a>(probe: &'a Value, kind: &str) -> Option<&'a Value> {
    probe["streams"]
        .as_array()?
        .iter()
        .find(|s| s["codec_type"] == kind)
}

/// The timecode ffprobe reports for the file (video stream, timecode track or file tag).
fn timecode(probe: &Value) -> Option<String> {
    let tagged = |v: &Value| v["tags"]["timecode"].as_str().map(str::to_string);
    probe["streams"]
        .as_array()?
        .iter()
        .find_map(tagged)
        .or_else(|| tagged(&probe["format"]))
}

/// A 2.5 s master cut from the live-action clip: `video` are its ffmpeg video options,
/// with a 24-bit PCM tone for audio.
fn master(dir: &Path, name: &str, video: &[&str]) -> PathBuf {
    let path = dir.join(name);
    let clip = testdata("tos_360p24_10s.mp4");
    let mut args = vec!["-ss", "2", "-t", "2.5", "-i", p(&clip)];
    args.extend([
        "-f",
        "lavfi",
        "-t",
        "2.5",
        "-i",
        "sine=frequency=440:sample_rate=48000",
    ]);
    args.extend(["-map", "0:v", "-map", "1:a"]);
    args.extend_from_slice(video);
    args.extend(["-c:a", "pcm_s24le", p(&path)]);
    ffmpeg(&args);
    path
}

/// Whether Debian's `ffmpeg` (the tool, built like the libraries `filigree` links) has the
/// encoder `name`.
fn has_encoder(name: &str) -> bool {
    let list = ffmpeg(&["-encoders"]);
    String::from_utf8_lossy(&list)
        .split_whitespace()
        .any(|word| word == name)
}

#[test]
fn prores_master_becomes_a_browser_playable_mp4_with_its_timecode_and_audio() {
    let dir = tempfile::tempdir().unwrap();
    let master = master(
        dir.path(),
        "master.mov",
        &[
            "-r",
            "24000/1001",
            "-c:v",
            "prores_ks",
            "-profile:v",
            "3",
            "-pix_fmt",
            "yuv422p10le",
            "-timecode",
            "01:00:00:00",
        ],
    );
    let screener = dir.path().join("screener.mp4");
    let out = embed(
        &master,
        &screener,
        &["--pix-fmt", "yuv420p", "--overlay", "{timecode}", "--json"],
    );
    assert_success("embed", &out);
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["pixel_format"], "yuv422p10le", "{summary}");
    assert_eq!(summary["output_pixel_format"], "yuv420p", "{summary}");

    let info = ffprobe_json(&screener);
    let video = stream(&info, "video").expect("video stream");
    assert_eq!(video["codec_name"], "h264");
    assert_eq!(video["pix_fmt"], "yuv420p");
    assert_eq!(
        video["profile"], "High",
        "8-bit 4:2:0 is plain High profile"
    );
    assert_eq!(video["r_frame_rate"], "24000/1001");
    // MP4 cannot hold PCM: the audio is re-encoded as AAC, at its own rate, in sync.
    let audio = stream(&info, "audio").expect("the audio is kept");
    assert_eq!(audio["codec_name"], "aac");
    assert_eq!(audio["sample_rate"], "48000");
    let duration = |s: &Value| s["duration"].as_str().unwrap().parse::<f64>().unwrap();
    assert!((duration(audio) - duration(video)).abs() < 0.05, "{info}");
    assert_eq!(
        summary["skipped_streams"],
        serde_json::json!([]),
        "{summary}"
    );
    assert_eq!(timecode(&info).as_deref(), Some("01:00:00:00"), "{info}");
    assert!(
        info["streams"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["codec_tag_string"] == "tmcd"),
        "a tmcd track: {info}"
    );

    let leak = dir.path().join("leak.mp4");
    ffmpeg(&[
        "-i",
        p(&screener),
        "-c:v",
        "libx264",
        "-crf",
        "28",
        "-an",
        p(&leak),
    ]);
    assert_detects(&leak);
}

#[test]
fn dnxhr_drop_frame_master_to_prores_keeps_its_drop_frame_timecode() {
    let dir = tempfile::tempdir().unwrap();
    let master = master(
        dir.path(),
        "master.mov",
        &[
            "-r",
            "30000/1001",
            "-c:v",
            "dnxhd",
            "-profile:v",
            "dnxhr_hqx",
            "-pix_fmt",
            "yuv422p10le",
            "-timecode",
            "00:59:59;00",
        ],
    );
    assert_eq!(
        timecode(&ffprobe_json(&master)).as_deref(),
        Some("00:59:59;00")
    );
    let out_path = dir.path().join("marked.mov");
    let out = embed(&master, &out_path, &["--codec", "prores_ks"]);
    assert_success("embed", &out);

    let info = ffprobe_json(&out_path);
    let video = stream(&info, "video").unwrap();
    assert_eq!(video["codec_name"], "prores");
    assert_eq!(video["profile"], "HQ");
    assert_eq!(video["pix_fmt"], "yuv422p10le");
    assert_eq!(video["r_frame_rate"], "30000/1001");
    // MOV holds PCM: copied untouched.
    assert_eq!(stream(&info, "audio").unwrap()["codec_name"], "pcm_s24le");
    assert_eq!(timecode(&info).as_deref(), Some("00:59:59;00"), "{info}");
    assert_detects(&out_path);

    // The other way round: DNxHR out of a 10-bit 4:2:2 source is DNxHR HQX.
    let dnxhr = dir.path().join("marked-dnxhr.mov");
    assert_success(
        "embed dnxhd",
        &embed(&master, &dnxhr, &["--codec", "dnxhd"]),
    );
    let video = stream(&ffprobe_json(&dnxhr), "video").unwrap().clone();
    assert_eq!(video["codec_name"], "dnxhd");
    assert_eq!(video["profile"], "DNXHR HQX");
    assert_eq!(video["pix_fmt"], "yuv422p10le");
    assert_detects(&dnxhr);
}

#[test]
fn interlaced_masters_are_refused_with_a_hint_to_deinterlace() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let prores = master(
        dir.path(),
        "interlaced.mov",
        &[
            "-flags",
            "+ilme+ildct",
            "-field_order",
            "tt",
            "-c:v",
            "prores_ks",
            "-pix_fmt",
            "yuv422p10le",
        ],
    );
    let h264 = master(
        dir.path(),
        "interlaced.mkv",
        &[
            "-vf",
            "setfield=bff",
            "-flags",
            "+ilme+ildct",
            "-c:v",
            "libx264",
        ],
    );
    // The container says progressive, the frames say interlaced: caught at the first frame.
    let mislabelled = master(
        dir.path(),
        "mislabelled.mkv",
        &[
            "-flags",
            "+ilme+ildct",
            "-c:v",
            "libx264",
            "-field_order",
            "progressive",
        ],
    );
    for (input, order) in [
        (&prores, "top field first"),
        (&h264, "bottom field first"),
        (&mislabelled, "bottom field first"),
    ] {
        let out = embed(input, &out_dir.join("marked.mp4"), &[]);
        let what = input.display().to_string();
        assert_refused(&what, &out, "interlaced", &out_dir, &[]);
        let err = stderr(&out);
        assert!(err.contains(order) && err.contains("bwdif"), "{err}");
    }
    // A y4m stream that says it is interlaced, on stdin.
    let mut child = Command::new(env!("CARGO_BIN_EXE_filigree"))
        .args([
            "embed",
            "--quiet",
            "--key",
            p(key()),
            "--recipient",
            RECIPIENT,
            "-",
        ])
        .arg(out_dir.join("marked.mp4"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let frame = vec![128u8; 320 * 180 * 3 / 2];
    let mut stream = b"YUV4MPEG2 W320 H180 F25:1 Ib C420jpeg\nFRAME\n".to_vec();
    stream.extend_from_slice(&frame);
    use std::io::Write;
    let _ = child.stdin.take().unwrap().write_all(&stream);
    let out = child.wait_with_output().unwrap();
    assert_refused("y4m Ib", &out, "bottom field first", &out_dir, &[]);

    // Deinterlaced as the message says, the same master is marked.
    let progressive = dir.path().join("progressive.mov");
    ffmpeg(&[
        "-i",
        p(&prores),
        "-vf",
        "bwdif=mode=send_frame",
        "-c:v",
        "prores_ks",
        "-c:a",
        "copy",
        p(&progressive),
    ]);
    assert_success(
        "deinterlaced",
        &embed(&progressive, &out_dir.join("marked.mov"), &[]),
    );
}

#[test]
fn codec_container_and_format_mismatches_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let clip = testdata("bbb_720p25_5s.mp4");
    for (what, output, extra, needle) in [
        (
            "unknown codec",
            "a.mp4",
            vec!["--codec", "mpeg9"],
            "unknown codec",
        ),
        (
            "prores in mp4",
            "a.mp4",
            vec!["--codec", "prores_ks"],
            "use .mov",
        ),
        (
            "dnxhd in webm",
            "a.webm",
            vec!["--codec", "dnxhd"],
            "cannot go in a .webm",
        ),
        (
            "format the encoder lacks",
            "a.mov",
            vec!["--codec", "prores_ks", "--pix-fmt", "yuv420p"],
            "prores_ks cannot encode yuv420p",
        ),
        (
            "unknown format",
            "a.mov",
            vec!["--pix-fmt", "rgb24"],
            "unknown pixel format",
        ),
        (
            "crf for prores",
            "a.mov",
            vec!["--codec", "prores_ks", "--crf", "20"],
            "no CRF",
        ),
        (
            "crf range",
            "a.mp4",
            vec!["--codec", "libsvtav1", "--crf", "64"],
            "0-63",
        ),
        (
            "pix-fmt on y4m",
            "a.y4m",
            vec!["--pix-fmt", "yuv444p"],
            "y4m",
        ),
    ] {
        let out = embed(&clip, &dir.path().join(output), &extra);
        assert_refused(what, &out, needle, dir.path(), &[]);
    }
}

#[test]
fn av1_and_vp9_screeners_carry_the_mark() {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("clip.mp4");
    ffmpeg(&[
        "-t",
        "2",
        "-i",
        p(&testdata("tos_360p24_10s.mp4")),
        "-c:v",
        "libx264",
        "-crf",
        "12",
        "-an",
        p(&clip),
    ]);
    for (codec, output) in [("libsvtav1", "av1.mp4"), ("libvpx-vp9", "vp9.webm")] {
        assert!(
            has_encoder(codec),
            "{codec} is not in this ffmpeg build: the tests need Debian's ffmpeg \
             (scripts/setup-debian)"
        );
        let out_path = dir.path().join(output);
        assert_success(codec, &embed(&clip, &out_path, &["--codec", codec]));
        assert_detects(&out_path);
    }
}

/// `filigree COMMAND...` marking the 10 s clip in the background, writing into `dir`.
fn spawn(command: &[&str], dir: &Path, output: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_filigree"))
        .args(command)
        .args(["--quiet", "--key", p(key()), "--recipient", RECIPIENT])
        .args(["--preset", "slow"])
        .arg(testdata("tos_360p24_10s.mp4"))
        .arg(dir.join(output))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn filigree")
}

/// Waits until `dir` holds a temporary output; returns its name.
fn wait_for_temporary(dir: &Path, child: &mut Child) -> String {
    let started = Instant::now();
    loop {
        if let Some(name) = entries(dir)
            .into_iter()
            .find(|n| n.starts_with(".filigree-"))
        {
            return name;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "embed ended before writing"
        );
        assert!(started.elapsed() < Duration::from_secs(30), "no temporary");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn send(signal: &str, child: &Child) {
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
}

#[test]
fn sigint_and_sigterm_during_embed_or_screen_remove_the_temporary_output() {
    for (command, signal, code, word) in [
        (&["embed"][..], "-INT", 130, "SIGINT"),
        (&["embed"][..], "-TERM", 143, "SIGTERM"),
        (&["screen", "--cpu"][..], "-INT", 130, "SIGINT"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut child = spawn(command, dir.path(), "marked.mp4");
        wait_for_temporary(dir.path(), &mut child);
        std::thread::sleep(Duration::from_millis(300)); // some frames written
        send(signal, &child);
        let out = child.wait_with_output().unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(code), "{signal}: {err}");
        assert_eq!(err.lines().count(), 1, "{signal}: {err}");
        assert!(err.contains(word) && err.contains("marked.mp4"), "{err}");
        assert_eq!(entries(dir.path()), Vec::<String>::new(), "{signal}");
    }
}

#[test]
fn after_sigkill_the_next_embed_in_the_folder_sweeps_the_stale_temporary() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = spawn(&["embed"], dir.path(), "first.mp4");
    let stale = wait_for_temporary(dir.path(), &mut child);
    send("-KILL", &child);
    child.wait().unwrap();
    // What a kill leaves is hidden and says whose temporary it is.
    let pid = child.id();
    assert!(
        stale.starts_with(&format!(".filigree-{pid}-")) && stale.ends_with(".tmp.mp4"),
        "{stale}"
    );
    assert_eq!(entries(dir.path()), vec![stale]);

    let clips = tempfile::tempdir().unwrap();
    let clip = clips.path().join("short.mp4");
    ffmpeg(&[
        "-t",
        "1",
        "-i",
        p(&testdata("bbb_720p25_5s.mp4")),
        "-an",
        p(&clip),
    ]);
    assert_success(
        "next embed",
        &embed(&clip, &dir.path().join("second.mp4"), &[]),
    );
    assert_eq!(entries(dir.path()), vec!["second.mp4".to_string()]);
}
