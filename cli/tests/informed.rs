//! `detect --reference`: informed detection against the original master, next to the blind
//! reading, on leaks that are too small or too short for a blind one.

mod common;

use common::*;

#[test]
fn informed_detection_reads_leaks_the_blind_reading_loses() {
    let dir = tempfile::tempdir().unwrap();
    let key = new_key(dir.path(), "studio.key");
    let master = testdata("bbb_720p25_5s.mp4");
    let marked = dir.path().join("marked.mp4");
    let out = filigree(&[
        "embed",
        "--quiet",
        "--key",
        p(&key),
        "--recipient",
        "4242",
        p(&master),
        p(&marked),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    // Each reads with the master for every key tried (6 of 6, p <= 1e-20), where the blind
    // reading found 0, 5 and 3 of 6 (README, Casework).
    let leaks: [(&str, &[&str]); 3] = [
        (
            "1 s excerpt at 320x180, CRF 28",
            &["-ss", "2", "-t", "1", "-vf", "scale=320:180"],
        ),
        ("0.2x (256x144), CRF 30", &["-vf", "scale=256:144"]),
        (
            "30 fps at 320x180, CRF 32",
            &["-vf", "fps=30,scale=320:180"],
        ),
    ];
    for (i, (name, filters)) in leaks.iter().enumerate() {
        let leak = dir.path().join(format!("leak-{i}.mp4"));
        let crf = ["28", "30", "32"][i];
        let mut args: Vec<&str> = vec!["-i", p(&marked)];
        args.extend_from_slice(filters);
        args.extend(["-c:v", "libx264", "-crf", crf, "-an", p(&leak)]);
        ffmpeg(&args);
        let (blind_code, blind) = detect_json(&key, &leak, &["--full"]);
        let (code, informed) = detect_json(&key, &leak, &["--full", "--reference", p(&master)]);
        println!(
            "{name}: blind {} (sync z {:.1}), informed {} (p {:e}, sync z {:.1}, {})",
            blind["recipient"],
            blind["sync_z"].as_f64().unwrap(),
            informed["recipient"],
            informed["false_positive_probability"]
                .as_f64()
                .unwrap_or(1.0),
            informed["sync_z"].as_f64().unwrap(),
            informed["informed"],
        );
        assert_eq!((code, &informed["recipient"]), (0, &4242.into()), "{name}");
        let p_informed = informed["false_positive_probability"].as_f64().unwrap();
        assert!(p_informed <= 1e-9, "{name}: {p_informed}");
        // Where the blind reading finds the ID at all, it is far less certain.
        let p_blind = blind["false_positive_probability"].as_f64().unwrap_or(1.0);
        assert!(blind_code == 1 || p_informed < p_blind * 1e-6, "{name}");
        assert!(informed["informed"]["mean_similarity"].as_f64().unwrap() > 0.95);
    }
    // The excerpt was found where it came from in the master.
    let (_, excerpt) = detect_json(
        &key,
        &dir.path().join("leak-0.mp4"),
        &["--full", "--reference", p(&master)],
    );
    let span = excerpt["informed"]["master_span_seconds"]
        .as_array()
        .unwrap()
        .clone();
    assert!((span[0].as_f64().unwrap() - 2.0).abs() < 0.1, "{span:?}");

    // Nulls: the unmarked master leaked the same way, and a wrong key, find no watermark.
    let unmarked = dir.path().join("unmarked.mp4");
    ffmpeg(&[
        "-i",
        p(&master),
        "-vf",
        "scale=192:108",
        "-c:v",
        "libx264",
        "-crf",
        "30",
        p(&unmarked),
    ]);
    let (code, json) = detect_json(&key, &unmarked, &["--full", "--reference", p(&master)]);
    assert_eq!(
        (code, &json["found"], &json["mark_present"]),
        (1, &false.into(), &false.into())
    );
    let wrong = new_key(dir.path(), "wrong.key");
    let (code, json) = detect_json(
        &wrong,
        &dir.path().join("leak-1.mp4"),
        &["--full", "--reference", p(&master)],
    );
    assert_eq!((code, &json["found"]), (1, &false.into()));
}
