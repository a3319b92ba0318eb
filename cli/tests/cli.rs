//! The `filigree` binary end to end: real clips in, Debian's ffmpeg as the attacker, the CLI
//! contract (exit codes, JSON fields, no leftover output) checked on every path.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::Value;
use tempfile::TempDir;

use common::*;

const RECIPIENT: u32 = 3_000_000_042;

fn ffprobe_streams(path: &Path) -> Vec<Value> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_streams", "-of", "json"])
        .arg(path)
        .output()
        .expect("run ffprobe");
    let json: Value = serde_json::from_slice(&out.stdout).expect("ffprobe json");
    json["streams"].as_array().cloned().unwrap_or_default()
}

/// A key and a marked copy of the live-action clip, shared by the attack tests.
struct Fixture {
    dir: TempDir,
    key: PathBuf,
    marked: PathBuf,
    ledger: PathBuf,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("studio.key");
        let marked = dir.path().join("marked.mp4");
        let ledger = dir.path().join("ledger.jsonl");
        // A fixed key keeps the attack results reproducible run to run.
        std::fs::write(&key, format!("filigree-key-v1\n{}\n", "5e".repeat(32))).unwrap();
        let out = filigree(&[
            "embed",
            "--key",
            p(&key),
            "--recipient",
            &RECIPIENT.to_string(),
            "--label",
            "critic@example.org",
            "--ledger",
            p(&ledger),
            "--quiet",
            p(&testdata("tos_360p24_10s.mp4")),
            p(&marked),
        ]);
        assert!(out.status.success(), "embed: {}", stderr(&out));
        Fixture {
            dir,
            key,
            marked,
            ledger,
        }
    })
}

/// Attack the marked file with ffmpeg (`-vf` chain, libx264/libx265 at a CRF), detect, and
/// return the detection's JSON.
fn attack_and_detect(
    name: &str,
    input_args: &[&str],
    vf: Option<&str>,
    codec: &str,
    crf: u32,
) -> Value {
    let f = fixture();
    let attacked = f.dir.path().join(format!("{name}.mp4"));
    let mut args: Vec<String> = input_args.iter().map(|s| s.to_string()).collect();
    args.extend(["-i".into(), p(&f.marked).into()]);
    if let Some(vf) = vf {
        args.extend(["-vf".into(), vf.into()]);
    }
    args.extend(["-c:v", codec, "-preset", "medium", "-crf"].map(String::from));
    args.push(crf.to_string());
    if codec == "libx265" {
        args.extend(["-x265-params".into(), "log-level=error".into()]);
    }
    args.extend([
        "-pix_fmt".into(),
        "yuv420p".into(),
        "-an".into(),
        p(&attacked).into(),
    ]);
    ffmpeg(&args.iter().map(String::as_str).collect::<Vec<_>>());

    let (code, json) = detect_json(&f.key, &attacked, &["--ledger", p(&f.ledger)]);
    println!("{name}: {json}");
    assert_eq!(code, 0, "{name}: {json}");
    assert_eq!(json["found"], true, "{name}");
    assert_eq!(json["recipient"], RECIPIENT, "{name}");
    assert_eq!(json["label"], "critic@example.org", "{name}");
    let fp = json["false_positive_probability"].as_f64().expect("fp");
    assert!(fp <= 1e-9, "{name}: fp {fp}");
    assert!(json["frames_used"].as_u64().unwrap() > 0);
    assert!(json["seconds_analyzed"].as_f64().unwrap() > 0.0);
    json
}

#[test]
fn h264_crf23_28_32_and_h265_crf28_recover_the_exact_id() {
    attack_and_detect("h264_crf23", &[], None, "libx264", 23);
    attack_and_detect("h264_crf28", &[], None, "libx264", 28);
    attack_and_detect("h264_crf32", &[], None, "libx264", 32);
    attack_and_detect("h265_crf28", &[], None, "libx265", 28);
}

#[test]
fn geometric_attacks_recover_the_exact_id() {
    attack_and_detect(
        "downscale_480x270",
        &[],
        Some("scale=480:270"),
        "libx264",
        28,
    );
    attack_and_detect(
        "crop_10_percent",
        &[],
        Some("crop=trunc(iw*0.9/2)*2:trunc(ih*0.9/2)*2:iw*0.07:ih*0.03"),
        "libx264",
        26,
    );
    // The geometry is stated against the picture found, and says which: here the picture
    // scaled to 75 % and boxed in black, found inside its bars at its own scale.
    let boxed = attack_and_detect(
        "letterbox",
        &[],
        Some(
            "scale=trunc(iw*0.75/2)*2:-2,pad=trunc(iw/0.75/2)*2:trunc(ih/0.75/2)*2:(ow-iw)/2:(oh-ih)/2",
        ),
        "libx264",
        26,
    );
    let picture = &boxed["picture"];
    for (side, expected) in [
        ("left", 0.125),
        ("top", 0.125),
        ("width", 0.75),
        ("height", 0.75),
    ] {
        let found = picture[side].as_f64().unwrap_or(f64::NAN);
        assert!((found - expected).abs() < 0.02, "picture {side}: {boxed}");
    }
    let magnification = boxed["magnification"].as_f64().unwrap();
    assert!((magnification - 1.0).abs() < 0.02, "{boxed}");
    attack_and_detect(
        "chain",
        &[],
        Some(
            "crop=trunc(iw*0.95/2)*2:trunc(ih*0.95/2)*2:iw*0.02:ih*0.04,scale=854:480,eq=brightness=0.06",
        ),
        "libx264",
        30,
    );
}

#[test]
fn colour_timing_and_excerpt_attacks_recover_the_exact_id() {
    attack_and_detect(
        "eq",
        &[],
        Some("eq=brightness=0.1:contrast=1.2:gamma=0.8"),
        "libx264",
        26,
    );
    attack_and_detect("fps30", &[], Some("fps=30"), "libx264", 26);
    attack_and_detect(
        "excerpt_3s",
        &["-ss", "3.5", "-t", "3"],
        None,
        "libx264",
        26,
    );
}

#[test]
fn a_stream_rip_switching_from_360p_to_720p_mid_file_recovers_the_exact_id() {
    let f = fixture();
    // Two renditions of the marked copy as an adaptive stream serves them, joined the way a
    // rip of it is: the first 5 s at 640x360, the rest at 1280x720, in one MPEG-TS.
    let dir = f.dir.path();
    let low = dir.join("rip-360.ts");
    let high = dir.join("rip-720.ts");
    let rendition = |start: &str, vf: &str, out: &Path| {
        common::ffmpeg(&[
            "-ss",
            start,
            "-t",
            "5",
            "-i",
            p(&f.marked),
            "-vf",
            vf,
            "-c:v",
            "libx264",
            "-crf",
            "26",
            "-preset",
            "veryfast",
            "-an",
            "-f",
            "mpegts",
            p(out),
        ]);
    };
    rendition("0", "scale=640:360", &low);
    rendition("5", "scale=1280:720", &high);
    let rip = dir.join("rip.ts");
    let mut joined = std::fs::read(&low).unwrap();
    joined.extend(std::fs::read(&high).unwrap());
    std::fs::write(&rip, joined).unwrap();
    // Read in full: a fast read settles on the first rendition alone.
    let (code, json) = detect_json(&f.key, &rip, &["--full"]);
    assert_eq!(
        (code, &json["recipient"]),
        (0, &Value::from(RECIPIENT)),
        "{json}"
    );
    let sizes = json["frame_sizes"].as_array().unwrap();
    assert_eq!(sizes.len(), 2, "{json}");
    assert_eq!(
        (&sizes[0][0], &sizes[1][0]),
        (&Value::from(640), &Value::from(1280))
    );
}

#[test]
fn a_keyring_of_50_names_the_matching_key_and_charges_the_bound_for_all() {
    let f = fixture();
    let ring = f.dir.path().join("keyring");
    std::fs::create_dir_all(&ring).unwrap();
    for i in 0..49u8 {
        let hex: String = (0..32)
            .map(|j| format!("{:02x}", i.wrapping_mul(7) ^ j))
            .collect();
        std::fs::write(
            ring.join(format!("title-{i:02}.key")),
            format!("filigree-key-v1\n{hex}\n"),
        )
        .unwrap();
    }
    std::fs::copy(&f.key, ring.join("title-49.key")).unwrap();
    let started = std::time::Instant::now();
    let (code, one) = detect_json(&f.key, &f.marked, &["--ledger", p(&f.ledger)]);
    let one_key = started.elapsed();
    assert_eq!(code, 0);
    let started = std::time::Instant::now();
    let out = filigree(&[
        "detect",
        "--json",
        "--quiet",
        "--keys",
        p(&ring),
        "--ledger",
        p(&f.ledger),
        p(&f.marked),
    ]);
    let fifty_keys = started.elapsed();
    let all: Value = serde_json::from_slice(&out.stdout).unwrap();
    eprintln!("1 key {one_key:?}, 50 keys {fifty_keys:?}");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(all["recipient"], RECIPIENT);
    assert_eq!(all["label"], "critic@example.org");
    assert_eq!(all["keys_tried"], 50);
    assert_eq!(all["key_fingerprint"], one["key_fingerprint"]);
    let ratio = all["false_positive_probability"].as_f64().unwrap()
        / one["false_positive_probability"].as_f64().unwrap();
    assert!((ratio - 50.0).abs() < 1e-6 * 50.0, "{ratio}");

    // A folder of keys that match nothing: no watermark, the bound for 49.
    std::fs::remove_file(ring.join("title-49.key")).unwrap();
    let out = filigree(&[
        "detect",
        "--json",
        "--quiet",
        "--keys",
        p(&ring),
        p(&f.marked),
    ]);
    let none: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (out.status.code(), &none["found"]),
        (Some(1), &Value::Bool(false))
    );
    assert_eq!(none["keys_tried"], 49);
    // A folder holding something that is not a key is refused in one line.
    std::fs::write(ring.join("notes.txt"), "not a key").unwrap();
    let out = filigree(&["detect", "--quiet", "--keys", p(&ring), p(&f.marked)]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
}

#[test]
fn a_batch_gives_one_json_line_per_file_and_fails_only_for_unreadable_ones() {
    let f = fixture();
    let batch = f.dir.path().join("batch");
    std::fs::create_dir_all(&batch).unwrap();
    std::fs::copy(&f.marked, batch.join("a-marked.mp4")).unwrap();
    std::fs::copy(
        testdata("caminandes_360p24_10s.mp4"),
        batch.join("b-unmarked.mp4"),
    )
    .unwrap();
    let run = |inputs: &[&str]| {
        let mut args = vec!["detect", "--quiet", "--key", p(&f.key)];
        args.extend_from_slice(inputs);
        let out = filigree(&args);
        let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        (out.status.code(), lines)
    };
    // Found or not, readable files make exit status 0.
    let (code, lines) = run(&[p(&batch)]);
    assert_eq!(code, Some(0), "{lines:?}");
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["recipient"], RECIPIENT);
    assert!(
        lines[0]["input"]
            .as_str()
            .unwrap()
            .ends_with("a-marked.mp4")
    );
    assert_eq!(
        (&lines[1]["found"], &lines[1]["error"]),
        (&Value::Bool(false), &Value::Null)
    );
    // A corrupt file gets an error line of its own and exit status 2; the others still read.
    let corrupt = testdata("bad/html-renamed.mp4");
    let (code, lines) = run(&[p(&corrupt), p(&batch.join("a-marked.mp4"))]);
    assert_eq!(code, Some(2));
    assert_eq!(lines.len(), 2);
    assert!(
        lines[0]["error"]
            .as_str()
            .unwrap()
            .contains("html-renamed.mp4"),
        "{lines:?}"
    );
    assert_eq!(lines[1]["recipient"], RECIPIENT);
}

#[test]
fn max_seconds_limits_the_analysis() {
    let f = fixture();
    let (code, json) = detect_json(&f.key, &f.marked, &["--max-seconds", "2"]);
    assert_eq!(code, 0);
    assert_eq!(json["recipient"], RECIPIENT);
    assert_eq!(json["frames_used"], 48);
    assert!((json["seconds_analyzed"].as_f64().unwrap() - 2.0).abs() < 1e-9);
}

#[test]
fn a_ten_minute_title_gets_its_verdict_from_its_first_seconds() {
    let f = fixture();
    // 60 copies of the marked 10 s clip, stream-copied into one 10-minute title.
    let list = f.dir.path().join("long.txt");
    let entry = format!("file '{}'\n", p(&f.marked));
    std::fs::write(&list, entry.repeat(60)).unwrap();
    let long = f.dir.path().join("long.mp4");
    ffmpeg(&[
        "-f",
        "concat",
        "-safe",
        "0",
        "-i",
        p(&list),
        "-c",
        "copy",
        p(&long),
    ]);
    let (code, json) = detect_json(&f.key, &long, &[]);
    println!("10-minute title: {json}");
    assert_eq!(code, 0);
    assert_eq!(json["recipient"], RECIPIENT);
    assert_eq!(json["stopped_early"], true);
    assert!(json["seconds_analyzed"].as_f64().unwrap() <= 8.0, "{json}");
    // Looks at 4, 8 … 512 s and the end: the bound is charged for all nine.
    assert_eq!(json["looks"], 9);
    assert!(json["false_positive_probability"].as_f64().unwrap() <= 1e-12);
    // Read in full, the same file is one look to the end.
    let (code, full) = detect_json(&f.key, &long, &["--full", "--max-seconds", "30"]);
    assert_eq!((code, &full["recipient"]), (0, &json["recipient"]));
    assert_eq!(
        (&full["looks"], &full["stopped_early"]),
        (&1.into(), &false.into())
    );
    assert!(
        (full["seconds_analyzed"].as_f64().unwrap() - 30.0).abs() < 0.1,
        "{full}"
    );
}

#[test]
fn unmarked_files_and_wrong_keys_exit_1_with_no_watermark() {
    let f = fixture();
    let (code, json) = detect_json(&f.key, &testdata("caminandes_360p24_10s.mp4"), &[]);
    assert_eq!(
        (code, &json["found"], &json["recipient"]),
        (1, &Value::Bool(false), &Value::Null)
    );
    assert_eq!(json["false_positive_probability"], Value::Null);
    assert_eq!(json["mark_present"], false);

    let wrong = new_key(f.dir.path(), "wrong.key");
    let (code, json) = detect_json(&wrong, &f.marked, &[]);
    assert_eq!((code, &json["found"]), (1, &Value::Bool(false)));
    assert_eq!(json["mark_present"], false);

    let out = filigree(&["detect", "--key", p(&wrong), p(&f.marked)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no watermark"));
}

#[test]
fn keygen_writes_0600_never_overwrites_and_never_prints_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k.key");
    let out = filigree(&["keygen", "--out", p(&key)]);
    assert!(out.status.success());
    let text = std::fs::read_to_string(&key).unwrap();
    let secret = text.lines().nth(1).unwrap();
    let printed = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert!(!printed.contains(secret), "key material printed");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let again = filigree(&["keygen", "--out", p(&key)]);
    assert_eq!(again.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&key).unwrap(), text);
}

#[test]
fn audio_is_kept_and_ten_bit_and_mkv_subtitles_survive_embedding() {
    let dir = tempfile::tempdir().unwrap();
    let key = new_key(dir.path(), "k.key");

    // Audio (5.1 AAC) copied untouched.
    let with_audio = dir.path().join("bbb_marked.mp4");
    let out = filigree(&[
        "embed",
        "--quiet",
        "--key",
        p(&key),
        "--recipient",
        "7",
        p(&testdata("bbb_720p25_5s.mp4")),
        p(&with_audio),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let streams = ffprobe_streams(&with_audio);
    let audio = streams
        .iter()
        .find(|s| s["codec_type"] == "audio")
        .expect("audio kept");
    assert_eq!(audio["channels"], 6);
    assert_eq!(detect_json(&key, &with_audio, &[]).1["recipient"], 7);

    // 10-bit input with colour tags, into .mkv with a subtitle stream.
    let srt = dir.path().join("subs.srt");
    std::fs::write(
        &srt,
        "1\n00:00:00,500 --> 00:00:02,000\nHello\n\n2\n00:00:03,000 --> 00:00:04,000\nWorld\n",
    )
    .unwrap();
    let ten_bit = dir.path().join("ten.mkv");
    ffmpeg(&[
        "-i",
        p(&testdata("tos_360p24_10s.mp4")),
        "-i",
        p(&srt),
        "-t",
        "5",
        "-map",
        "0:v",
        "-map",
        "1:s",
        "-c:v",
        "libx264",
        "-crf",
        "16",
        "-pix_fmt",
        "yuv420p10le",
        "-color_primaries",
        "bt709",
        "-color_trc",
        "bt709",
        "-colorspace",
        "bt709",
        "-color_range",
        "tv",
        "-c:s",
        "srt",
        p(&ten_bit),
    ]);
    let marked = dir.path().join("ten_marked.mkv");
    let out = filigree(&[
        "embed",
        "--quiet",
        "--key",
        p(&key),
        "--recipient",
        "1010",
        p(&ten_bit),
        p(&marked),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let streams = ffprobe_streams(&marked);
    let video = streams.iter().find(|s| s["codec_type"] == "video").unwrap();
    assert_eq!(video["pix_fmt"], "yuv420p10le");
    assert_eq!(video["color_primaries"], "bt709");
    assert_eq!(video["color_space"], "bt709");
    assert!(
        streams.iter().any(|s| s["codec_type"] == "subtitle"),
        "subtitles kept"
    );
    assert_eq!(detect_json(&key, &marked, &[]).1["recipient"], 1010);
}

#[test]
fn pipe_mode_sits_between_two_ffmpeg_processes() {
    let dir = tempfile::tempdir().unwrap();
    let key = new_key(dir.path(), "k.key");
    let out_file = dir.path().join("piped.mp4");
    let script = format!(
        "set -o pipefail; ffmpeg -v error -i '{src}' -f yuv4mpegpipe - | '{bin}' embed --quiet --key '{key}' \
         --recipient 99 --ledger '{ledger}' - - | ffmpeg -v error -y -f yuv4mpegpipe -i - -c:v libx264 -crf 20 '{out}'",
        ledger = p(&dir.path().join("pipe-ledger.jsonl")),
        src = p(&testdata("caminandes_360p24_10s.mp4")),
        bin = env!("CARGO_BIN_EXE_filigree"),
        key = p(&key),
        out = p(&out_file),
    );
    let status = Command::new("bash")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let (code, json) = detect_json(&key, &out_file, &[]);
    assert_eq!((code, &json["recipient"]), (0, &Value::from(99)));
    let ledger = std::fs::read_to_string(dir.path().join("pipe-ledger.jsonl")).unwrap();
    assert!(
        ledger.contains(r#""input_sha256":"-""#),
        "pipes are recorded unhashed: {ledger}"
    );

    // And detection reads a y4m pipe too.
    let script = format!(
        "ffmpeg -v error -i '{out}' -f yuv4mpegpipe - | '{bin}' detect --json --key '{key}' -",
        out = p(&out_file),
        bin = env!("CARGO_BIN_EXE_filigree"),
        key = p(&key),
    );
    let out = Command::new("bash").args(["-c", &script]).output().unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["recipient"], 99);
}

#[test]
fn ledger_records_verifies_and_reports_tampering() {
    let f = fixture();
    let out = filigree(&["ledger", "verify", p(&f.ledger)]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = filigree(&["ledger", "show", "--json", p(&f.ledger)]);
    let entries: Value = serde_json::from_slice(&out.stdout).unwrap();
    let first = &entries[0];
    assert_eq!(first["recipient"], RECIPIENT);
    assert_eq!(first["label"], "critic@example.org");
    assert_eq!(first["output_sha256"].as_str().unwrap().len(), 64);
    let key_text = std::fs::read_to_string(&f.key).unwrap();
    let ledger_text = std::fs::read_to_string(&f.ledger).unwrap();
    assert!(
        !ledger_text.contains(key_text.lines().nth(1).unwrap()),
        "ledger must not hold the key"
    );

    let tampered = f.dir.path().join("tampered.jsonl");
    std::fs::write(
        &tampered,
        ledger_text.replace("critic@example.org", "someone@else.org"),
    )
    .unwrap();
    let out = filigree(&["ledger", "verify", p(&tampered)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("line 1"));
    // `show` still lists it, but warns and exits 1.
    let out = filigree(&["ledger", "show", p(&tampered)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("someone@else.org"));
    assert!(
        stderr(&out).contains("damaged at line 1"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn concurrent_embeds_append_every_entry_to_one_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let key = new_key(dir.path(), "k.key");
    let short = dir.path().join("short.mp4");
    ffmpeg(&[
        "-i",
        p(&testdata("caminandes_360p24_10s.mp4")),
        "-t",
        "0.5",
        "-c",
        "copy",
        p(&short),
    ]);
    let ledger = dir.path().join("ledger.jsonl");
    let children: Vec<_> = (0..6)
        .map(|i| {
            Command::new(env!("CARGO_BIN_EXE_filigree"))
                .args([
                    "embed",
                    "--quiet",
                    "--key",
                    p(&key),
                    "--recipient",
                    &i.to_string(),
                    "--ledger",
                    p(&ledger),
                ])
                .arg(&short)
                .arg(dir.path().join(format!("out{i}.mp4")))
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let out = filigree(&["ledger", "verify", p(&ledger)]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("6 entries"));
}
