//! The HTML page: one self-contained file (inline CSS, SVG and PNG; no script, no network).

use filigree::pipeline::FileDetection;
use serde_json::Value;

use crate::Still;
use crate::plots::{self, html_escape};

/// A value for a table cell: strings bare, numbers and the rest as JSON.
fn cell(value: &Value) -> String {
    match value {
        Value::Null => "—".into(),
        Value::String(s) => html_escape(s),
        Value::Number(n) => match n.as_f64() {
            Some(f) if f != 0.0 && (f.abs() < 1e-3 || f.abs() >= 1e9) && n.is_f64() => {
                format!("{f:.2e}")
            }
            // Six decimals at most (the JSON beside the page keeps every digit).
            Some(f) if n.is_f64() => {
                let text = format!("{f:.6}");
                text.trim_end_matches('0').trim_end_matches('.').to_string()
            }
            _ => n.to_string(),
        },
        other => html_escape(&other.to_string()),
    }
}

/// A two-column table of `rows` (label, value).
fn table(rows: &[(&str, &Value)]) -> String {
    let body: String = rows
        .iter()
        .map(|(label, value)| format!("<tr><th>{label}</th><td>{}</td></tr>", cell(value)))
        .collect();
    format!("<table>{body}</table>")
}

/// What the page says about the facts' signature, the ledger head and how to reproduce.
fn verification(facts: &Value, json_name: &str) -> String {
    let f = |path: &str| facts.pointer(path).unwrap_or(&Value::Null);
    let signature = match f("/signature/key_fingerprint").as_str() {
        Some(fingerprint) => format!(
            "<p class=\"signed\">Signed with evidence key <b>{}</b> (Ed25519 over the RFC 8785 \
             canonical form of the facts in <code>{}</code>; signed payload SHA-256 <code>{}</code>). \
             The JSON is the signed evidence; this page shows it.</p>",
            html_escape(fingerprint),
            html_escape(json_name),
            html_escape(f("/signature/payload_sha256").as_str().unwrap_or_default()),
        ),
        None => format!(
            "<p class=\"unsigned\">Not signed: the facts in <code>{}</code> carry no signature \
             (make signed reports with <code>filigree detect --report FILE.html --sign EVIDENCE.key</code>).</p>",
            html_escape(json_name)
        ),
    };
    let ledger = match f("/ledger") {
        Value::Null => "No ledger head was checked (no ledger given).".to_string(),
        _ => format!(
            "Ledger head checked: {} entries, head hash <code>{}</code>, hash chain verified: {}.",
            cell(f("/ledger/entries")),
            cell(f("/ledger/head_hash")),
            cell(f("/ledger/chain_verified")),
        ),
    };
    let command = f("/reproduce/command")
        .as_str()
        .unwrap_or_default()
        .replacen("REPORT.json", json_name, 1);
    let detector = f("/reproduce/detector/build");
    format!(
        "{signature}<p>{ledger}</p><p>Detector: filigree {} ({}, {}, commit {}). \
         Verify the signature and reproduce the detection from the leak file, the marking key \
         and the ledger:</p><p><code class=\"reproduce\">{}</code></p>",
        cell(f("/reproduce/detector/version")),
        cell(&detector["target"]),
        cell(&detector["profile"]),
        cell(&detector["commit"]),
        html_escape(&command),
    )
}

/// The whole page; `json_name` is the file name of the facts beside it.
pub(crate) fn page(
    facts: &Value,
    found: &FileDetection,
    stills: &[Still],
    json_name: &str,
) -> String {
    let verification = verification(facts, json_name);
    let f = |path: &str| facts.pointer(path).unwrap_or(&Value::Null);
    let verdict = f("/verdict/text").as_str().unwrap_or_default();
    let mark_found = f("/verdict/recipient").is_number() || !found.accusations.is_empty();
    let suspect = table(&[
        ("File", f("/suspect/file_name")),
        ("Size (bytes)", f("/suspect/size_bytes")),
        ("SHA-256", f("/suspect/sha256")),
        ("Container", f("/suspect/container")),
        ("Duration (s)", f("/suspect/duration_seconds")),
        ("Streams", f("/suspect/streams")),
        (
            "Video",
            &Value::String(format!(
                "{}x{} {} at {:.3} frames/s, start timecode {}",
                f("/suspect/video/width"),
                f("/suspect/video/height"),
                f("/suspect/video/pixel_format")
                    .as_str()
                    .unwrap_or_default(),
                f("/suspect/video/frame_rate").as_f64().unwrap_or(0.0),
                f("/suspect/video/start_timecode")
                    .as_str()
                    .unwrap_or("none"),
            )),
        ),
        ("Frame sizes read", f("/suspect/video/frame_sizes")),
    ]);
    let result = table(&[
        ("Key fingerprint", f("/key_fingerprint")),
        ("Recipient", f("/verdict/recipient")),
        ("Label", f("/verdict/label")),
        (
            "False-positive probability",
            f("/verdict/false_positive_probability"),
        ),
        ("Mark present", f("/verdict/mark_present")),
        ("Mixed with", f("/verdict/mixed_with")),
        ("Accused (with a ledger)", f("/verdict/accused")),
        ("Seconds read", f("/reading/seconds_analyzed")),
        ("Frames used", f("/reading/frames_used")),
        ("Stopped at an early look", f("/reading/stopped_early")),
    ]);
    let bound = table(&[
        ("Keys tried", f("/bound/keys_tried")),
        ("Looks the read could make", f("/bound/looks")),
        (
            "Sync hypotheses (folds x reflections x shifts)",
            f("/bound/sync_hypotheses"),
        ),
        ("Keyed tag checks (32-bit tag each)", f("/bound/tag_checks")),
        ("Best sync peak z", f("/bound/sync_z")),
        (
            "Sync p-value (all hypotheses, keys, looks)",
            f("/bound/sync_p_value"),
        ),
        ("Rule", f("/bound/rule")),
        (
            "Geometry: magnification (the tile's, inside the picture found)",
            f("/geometry/magnification"),
        ),
        ("Geometry: aspect", f("/geometry/aspect")),
        (
            "Geometry: rotation (degrees)",
            f("/geometry/rotation_degrees"),
        ),
        ("Geometry: reflection", f("/geometry/reflection")),
        // A handheld leak: the picture's outline was tracked frame by frame.
        (
            "Geometry: picture tracked per frame",
            f("/geometry/tracked"),
        ),
        // The picture the geometry is measured against, as fractions of the frame.
        ("Picture found: left", f("/geometry/picture/left")),
        ("Picture found: top", f("/geometry/picture/top")),
        ("Picture found: width", f("/geometry/picture/width")),
        ("Picture found: height", f("/geometry/picture/height")),
    ]);
    let ledger = match f("/ledger") {
        Value::Null => "<p>No ledger was given.</p>".to_string(),
        _ => table(&[
            ("Ledger", f("/ledger/file_name")),
            ("Hash chain verified", f("/ledger/chain_verified")),
            ("Entries", f("/ledger/entries")),
            ("Problem", f("/ledger/problem")),
            ("Entry: seq", f("/ledger/entry/seq")),
            ("Entry: issued", f("/ledger/entry/time")),
            ("Entry: recipient", f("/ledger/entry/recipient")),
            ("Entry: label", f("/ledger/entry/label")),
            (
                "Entry: marked copy SHA-256",
                f("/ledger/entry/output_sha256"),
            ),
            ("Entry: hash", f("/ledger/entry/hash")),
        ]),
    };
    let (candidates, surface, strength) = match &found.explained {
        Some(e) => (
            plots::candidates(&e.sync.candidate_z),
            plots::surface(&e.sync.surface),
            if e.strength.is_empty() {
                "<p>The sync was not found, so the leak was not read window by window.</p>"
                    .to_string()
            } else {
                plots::strength(&e.strength, found.detection.recipient)
            },
        ),
        None => Default::default(),
    };
    let stills: String = stills
        .iter()
        .map(|s| {
            format!(
                "<figure><img alt=\"still at {:.2} s\" src=\"data:image/png;base64,{}\">\
                 <figcaption>{:.2} s, timecode {}</figcaption></figure>",
                s.seconds, s.png_base64, s.seconds, s.timecode
            )
        })
        .collect();
    let command = f("/tool/command_line")
        .as_array()
        .map(|args| {
            args.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Filigree evidence report: {file}</title>
<style>
body {{ font-family: sans-serif; margin: 2em auto; max-width: 1000px; color: #222; }}
h1 {{ font-size: 1.5em; }} h2 {{ font-size: 1.15em; border-bottom: 1px solid #ccc; }}
.verdict {{ padding: 0.8em 1em; border-radius: 4px; font-size: 1.1em; }}
.found {{ background: #fde8e8; border: 2px solid #c62828; }}
.none {{ background: #eef3ee; border: 2px solid #5a8a5a; }}
table {{ border-collapse: collapse; width: 100%; margin: 0.5em 0; }}
th, td {{ text-align: left; padding: 0.25em 0.5em; border-bottom: 1px solid #eee; vertical-align: top; }}
th {{ width: 32%; font-weight: normal; color: #555; }}
td {{ font-family: monospace; word-break: break-all; }}
figure {{ display: inline-block; margin: 0.3em; }} figcaption {{ font-size: 0.85em; color: #555; }}
.plots svg {{ max-width: 100%; height: auto; }}
code {{ background: #f4f4f4; padding: 0.2em; word-break: break-all; }}
.signed {{ border-left: 4px solid #2e7d32; padding-left: 0.6em; }}
.unsigned {{ border-left: 4px solid #b26a00; padding-left: 0.6em; }}
</style></head><body>
<h1>Filigree evidence report</h1>
<p>Generated {generated} by filigree {version}. Reproduce with: <code>{command}</code></p>
<div class="verdict {class}">{verdict}</div>
<h2>Verification</h2>{verification}
<h2>Suspect file</h2>{suspect}
<h2>Result</h2>{result}
<h2>What the false-positive bound counts</h2>{bound}
<h2>Sync</h2><div class="plots">{candidates}{surface}</div>
<h2>Per-window evidence</h2><div class="plots">{strength}</div>
<h2>Stills of the suspect</h2>{stills}
<h2>Ledger</h2>{ledger}
</body></html>
"#,
        file = html_escape(f("/suspect/file_name").as_str().unwrap_or_default()),
        generated = html_escape(f("/generated").as_str().unwrap_or_default()),
        version = html_escape(f("/tool/version").as_str().unwrap_or_default()),
        command = html_escape(&command),
        class = if mark_found { "found" } else { "none" },
        verdict = html_escape(verdict),
    )
}
