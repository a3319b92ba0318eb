//! Handheld recordings: a phone filming a TV, shaking. The leak is made by
//! `scripts/handheld-leak` (real FFmpeg filters: room and bezel, keystone, a shake of 2 % of
//! the width at 1.5 Hz with every corner on its own path, rolling-shutter skew, focus
//! breathing, barrel distortion, exposure drift and light beat, 24 -> 30 fps with a
//! two-frame exposure blend, blur, sensor noise, 720p H.264 CRF 30) from a letterboxed scope
//! master made of the bundled clips.

mod common;

use filigree_testsupport::handheld_leak;
use serde_json::Value;

use common::*;

#[test]
fn a_phone_filming_a_shaking_screen_names_the_recipient_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let key = new_key(dir.path(), "studio.key");
    let wrong = new_key(dir.path(), "other.key");
    let master = dir.path().join("master.mp4");
    // 30 s: the goal the issue set (a 20 s leak decodes on some shake paths, not all).
    handheld_leak(&["master", p(&master), "--seconds", "30"]);
    let marked = dir.path().join("marked.mp4");
    let out = filigree(&[
        "embed",
        "--quiet",
        "--key",
        p(&key),
        "--recipient",
        "4711",
        "--preset",
        "veryfast",
        p(&master),
        p(&marked),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));

    let leak = dir.path().join("leak.mp4");
    handheld_leak(&[
        "leak",
        p(&marked),
        p(&leak),
        "--shake",
        "0.02",
        "--hz",
        "1.5",
    ]);
    let (code, found) = detect_json(&key, &leak, &[]);
    assert_eq!(code, 0, "{found}");
    assert_eq!(found["recipient"], 4711, "{found}");
    assert_eq!(found["tracked"], true, "{found}");
    let fp = found["false_positive_probability"].as_f64().unwrap();
    assert!(fp <= 1e-9, "{found}");
    // The outline is the screen's picture: most of the camera's width, a scope's height.
    let picture = &found["picture"];
    assert!(picture["width"].as_f64().unwrap() > 0.7, "{found}");
    assert!(picture["height"].as_f64().unwrap() < 0.7, "{found}");

    // The wrong key, and the unmarked master filmed the same way: no watermark, though
    // the canvas is searched in both (the outline moves just as much).
    let (code, other) = detect_json(&wrong, &leak, &[]);
    assert_eq!(
        (code, &other["mark_present"]),
        (1, &Value::Bool(false)),
        "{other}"
    );
    let unmarked = dir.path().join("unmarked-leak.mp4");
    handheld_leak(&[
        "leak",
        p(&master),
        p(&unmarked),
        "--shake",
        "0.02",
        "--hz",
        "1.5",
        "--seconds",
        "15",
    ]);
    let (code, none) = detect_json(&key, &unmarked, &[]);
    assert_eq!(
        (code, &none["mark_present"]),
        (1, &Value::Bool(false)),
        "{none}"
    );
}
