//! Evidence reports: what a detection found about a suspect file, laid out for an analyst
//! and a studio's lawyers. [`facts`] gathers every fact as JSON (the suspect's size and
//! SHA-256, its container and streams, the tool and the command line to reproduce the
//! result, the key's fingerprint, the verdict, its false-positive probability and the
//! hypotheses that bound counts, the ledger entry with the chain checked); [`write`] writes
//! that JSON and a self-contained HTML page (no network: plots are inline SVG drawn with
//! plotters, stills inline PNG) showing the sync peak, the mark's strength window by window
//! and stills of the suspect with their timecodes.
//!
//! [`write_signed`] signs the facts with the studio's evidence key (Ed25519 over their
//! RFC 8785 canonical form, see [`filigree::evidence`]); [`verify::verify_report`] checks
//! that signature and, given the leak, the keys and the ledger, re-runs the detection with
//! the options the facts record and says whether it reproduces the same answer and
//! probabilities.

mod html;
mod plots;
mod stills;
pub mod verify;

use std::path::{Path, PathBuf};

use filigree::evidence::{self, EvidenceKey};
use filigree::pipeline::{FileDetection, ReadPlan};
use filigree::video::ffmpeg;
use filigree::{Error, EvidenceError, Result, TAG_CHECKS, digest, ledger};
use serde_json::{Value, json};

pub use stills::Still;

/// One case: the suspect, what detection found, and what it was checked against.
#[derive(Debug, Clone, Copy)]
pub struct Case<'a> {
    /// The suspect (leaked) file.
    pub suspect: &'a Path,
    /// Read with [`filigree::pipeline::ReadPlan::explain`] set, so it carries what the
    /// plots show.
    pub found: &'a FileDetection,
    /// Fingerprint of the key the answer is under (never the key).
    pub key_fingerprint: &'a str,
    /// The ledger label of the recipient or session found.
    pub label: Option<&'a str>,
    /// The ledger the copies were issued in, when one was given.
    pub ledger: Option<&'a Path>,
    /// How to reproduce the result: the command line as run.
    pub command_line: &'a [String],
    /// The verdict in words, as the tool printed it.
    pub verdict: &'a str,
    /// Every option that changes the result, recorded so the detection can be re-run.
    pub options: Options<'a>,
}

/// The options a detection ran with that change its result: what
/// [`verify::verify_report`] re-runs it with.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    /// How much of the leak was read (`explain` is not recorded: it changes no result).
    pub plan: ReadPlan,
    /// Fingerprints of every key tried, in keyring order (never the keys).
    pub keys: &'a [String],
    /// The false-accusation bound accusations were made at (with a ledger).
    pub false_accusation: f64,
    /// The master of an informed detection.
    pub reference: Option<&'a Path>,
}

/// What a report's facts say about the build that made them.
fn detector() -> Value {
    json!({
        "name": "filigree",
        "version": env!("CARGO_PKG_VERSION"),
        "build": {
            "target": format!("{}-{}", std::env::consts::ARCH, std::env::consts::OS),
            "profile": if cfg!(debug_assertions) { "debug" } else { "release" },
            // Set by a release build (`FILIGREE_COMMIT=$(git rev-parse HEAD) cargo build`).
            "commit": option_env!("FILIGREE_COMMIT"),
        },
    })
}

/// The verdict in words, for callers that print none of their own (the Python binding).
pub fn verdict(found: &FileDetection, label: Option<&str>) -> String {
    let d = &found.detection;
    let read = format!(
        "{} frames, {:.1} s analysed",
        d.frames_used, found.seconds_analyzed
    );
    match (d.recipient, d.false_positive_probability) {
        (Some(id), Some(p)) => format!(
            "recipient {id}{} found (false-positive probability {p:.1e}; {read})",
            label.map(|l| format!(" ({l})")).unwrap_or_default()
        ),
        _ if !found.accusations.is_empty() => format!(
            "a watermark is present; {} issued copies or sessions accused ({read})",
            found.accusations.len()
        ),
        _ if d.mark_present() => format!(
            "a watermark is present but no ID could be read: too damaged, or mixed ({read})"
        ),
        _ => format!("no watermark found ({read})"),
    }
}

/// Stills a report shows of the suspect.
const STILLS: usize = 3;

/// The report's facts as JSON (also what [`write`] puts beside the HTML).
pub fn facts(case: &Case) -> Result<Value> {
    let found = case.found;
    let detection = &found.detection;
    let info = &found.info;
    let suspect = case.suspect;
    let size = std::fs::metadata(suspect)
        .map_err(|source| Error::Io {
            path: suspect.to_path_buf(),
            source,
        })?
        .len();
    let container = ffmpeg::probe(suspect)?;
    let sync_hypotheses = found.explained.as_ref().map(|e| e.sync.hypotheses);
    let ledger = case
        .ledger
        .map(|path| ledger_facts(path, case))
        .transpose()?;
    let options = &case.options;
    let reference = options
        .reference
        .map(|master| -> Result<Value> {
            Ok(json!({
                "file_name": master.file_name().map(|n| n.to_string_lossy().into_owned()),
                "sha256": digest::sha256_file(master)?,
            }))
        })
        .transpose()?;
    let reproduce = json!({
        "detector": detector(),
        "options": {
            "full": !options.plan.fast,
            "max_seconds": options.plan.max_seconds,
            "keys": options.keys,
            "false_accusation": case.ledger.map(|_| options.false_accusation),
            "reference": reference,
        },
        "ledger_head": ledger.as_ref().map(|l| json!({
            "entries": l["entries"],
            "head_hash": l["head_hash"],
        })),
        "command": reproduce_command(case),
    });
    Ok(json!({
        "report": "filigree evidence report v1",
        "generated": humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        "tool": {
            "name": "filigree",
            "version": env!("CARGO_PKG_VERSION"),
            "command_line": case.command_line,
        },
        "suspect": {
            "file_name": suspect.file_name().map(|n| n.to_string_lossy().into_owned()),
            "path": suspect.display().to_string(),
            "size_bytes": size,
            "sha256": digest::sha256_file(suspect)?,
            "container": container.format,
            "duration_seconds": container.duration_seconds,
            "bit_rate": container.bit_rate,
            "streams": container.streams,
            "video": {
                "width": info.width,
                "height": info.height,
                "pixel_format": info.format.name(),
                "frame_rate": info.frame_rate.as_f64(),
                "start_timecode": info.timecode.map(|t| t.to_string()),
                "frame_sizes": found.frame_sizes,
            },
        },
        "key_fingerprint": case.key_fingerprint,
        "verdict": {
            "text": case.verdict,
            "recipient": detection.recipient,
            "label": case.label,
            "false_positive_probability": detection.false_positive_probability,
            "mark_present": detection.mark_present(),
            "mixed_with": detection.mixed_with,
            "accused": found.accusations.iter().map(|a| json!({
                "id": a.id,
                "title_id": a.title,
                "false_accusation_probability": a.false_accusation_probability,
                "time_ranges": a.time_ranges,
            })).collect::<Vec<_>>(),
        },
        "reading": {
            "seconds_analyzed": found.seconds_analyzed,
            "frames_used": detection.frames_used,
            "frames_screened": found.frames_screened,
            "stopped_early": found.stopped_early,
        },
        "bound": {
            "keys_tried": found.keys_tried,
            "looks": found.looks,
            "sync_hypotheses": sync_hypotheses,
            "tag_checks": TAG_CHECKS,
            "tag_bits": filigree::payload::TAG_BITS,
            "sync_z": detection.sync_z,
            "sync_p_value": detection.sync_p_value,
            "rule": "false-positive probability = keys tried x looks x P(best sync peak of \
                     the hypotheses searched >= z on unmarked content) x tag checks x 2^-32",
        },
        "geometry": {
            "magnification": detection.magnification,
            "aspect": detection.aspect,
            "rotation_degrees": detection.rotation_degrees,
            "reflection": detection.reflection.name(),
            "picture": detection.picture,
            "tracked": detection.tracked,
        },
        "windows": found.explained.as_ref().map(|e| e.strength.iter().map(|w| json!({
            "start_seconds": w.start_seconds,
            "end_seconds": w.end_seconds,
            "sync_z": w.sync_z,
            "recipient": w.recipient,
        })).collect::<Vec<_>>()),
        "ledger": ledger,
        "reproduce": reproduce,
    }))
}

/// The command line that verifies the report and re-runs its detection, with the files
/// named as the report knows them (`KEY.key` stands for the marking key file).
fn reproduce_command(case: &Case) -> String {
    let name = |path: &Path| {
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let mut words = vec![
        "filigree".to_string(),
        "verify-report".into(),
        "REPORT.json".into(),
        "--leak".into(),
        shell_word(&name(case.suspect)),
    ];
    for _ in case.options.keys {
        words.extend(["--key".into(), "KEY.key".into()]);
    }
    if let Some(ledger) = case.ledger {
        words.extend(["--ledger".into(), shell_word(&name(ledger))]);
    }
    if let Some(master) = case.options.reference {
        words.extend(["--reference".into(), shell_word(&name(master))]);
    }
    words.join(" ")
}

/// `word` quoted for a POSIX shell when it needs to be.
fn shell_word(word: &str) -> String {
    if !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./+=:@,".contains(&b))
    {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// The ledger's chain check and the entry that issued what was found.
fn ledger_facts(path: &Path, case: &Case) -> Result<Value> {
    let verified = ledger::verify(path)?;
    let entries = ledger::trusted_entries(path).unwrap_or_default();
    let mine: Vec<_> = entries
        .into_iter()
        .filter(|e| e.key_fingerprint == case.key_fingerprint)
        .collect();
    let entry = case
        .found
        .detection
        .recipient
        .and_then(|id| ledger::latest_issue(&mine, u64::from(id), None));
    Ok(json!({
        "file_name": path.file_name().map(|n| n.to_string_lossy().into_owned()),
        "chain_verified": verified.is_ok(),
        "entries": verified.entries,
        "head_hash": verified.head_hash,
        "problem": verified.problem.map(|p| p.message),
        "entry": entry.map(|e| json!({
            "seq": e.seq,
            "time": e.time,
            "recipient": e.recipient,
            "label": e.label,
            "key_fingerprint": e.key_fingerprint,
            "input_sha256": e.input_sha256,
            "output_sha256": e.output_sha256,
            "hash": e.hash,
        })),
    }))
}

/// Writes the HTML report to `html_path` and its facts to the same path with `.json`;
/// each file appears complete or not at all.
pub fn write(case: &Case, html_path: &Path) -> Result<PathBuf> {
    write_signed(case, html_path, None)
}

/// [`write`], with the facts signed by `key` when given: a `signature` block (see
/// [`filigree::evidence::sign_object`]) over the RFC 8785 canonical form of the facts
/// without it, which the page shows.
pub fn write_signed(case: &Case, html_path: &Path, key: Option<&EvidenceKey>) -> Result<PathBuf> {
    let mut facts = facts(case)?;
    if let Some(key) = key {
        sign_facts(&mut facts, key).map_err(|reason| {
            Error::Evidence(EvidenceError::Invalid {
                path: html_path.with_extension("json"),
                reason,
            })
        })?;
    }
    let stills = stills::grab(case.suspect, case.found, STILLS)?;
    let json_path = html_path.with_extension("json");
    let json_name = json_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let page = html::page(&facts, case.found, &stills, &json_name);
    let text = serde_json::to_string_pretty(&facts).expect("JSON values serialise");
    commit(&json_path, text.as_bytes())?;
    commit(html_path, page.as_bytes())?;
    Ok(json_path)
}

/// Signs a report's facts in place with the evidence key.
pub fn sign_facts(facts: &mut Value, key: &EvidenceKey) -> std::result::Result<(), String> {
    let object = facts
        .as_object_mut()
        .ok_or("the facts are not a JSON object")?;
    evidence::sign_object(object, key)
}

/// Writes `bytes` to a hidden temporary beside `path`, then renames it into place.
fn commit(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = path.with_file_name(format!(".{name}.{}.partial", std::process::id()));
    std::fs::write(&temporary, bytes).map_err(io)?;
    std::fs::rename(&temporary, path).map_err(|e| {
        let _ = std::fs::remove_file(&temporary);
        io(e)
    })
}
