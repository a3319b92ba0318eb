//! Verifying a report: its signature, the leak it names, the ledger head it was checked
//! against, and whether the detection it records reproduces from the leak file.
//!
//! What is compared on a re-run: the answer (the key it is under, the recipient, whether a
//! mark is present, the recipients mixed in, who is accused) and the probabilities (the
//! false-positive probability, the sync z and p-value, each false-accusation
//! probability). Probabilities must agree to [`RELATIVE_TOLERANCE`]: on the same build they
//! agree exactly; another CPU may round the last digits of an FFT differently.

use std::path::Path;

use filigree::evidence::{self, SignatureCheck};
use filigree::pipeline::{self, Keyring, ReadPlan};
use filigree::{Error, EvidenceError, Key, Result, digest, ledger};
use serde_json::{Value, json};

/// How far two probabilities may differ, relative to the larger, and still be the same.
pub const RELATIVE_TOLERANCE: f64 = 1e-9;

/// One check and what it found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// Whether it passed.
    pub ok: bool,
    /// One line saying what was found.
    pub message: String,
}

impl Check {
    fn pass(message: impl Into<String>) -> Check {
        Check {
            ok: true,
            message: message.into(),
        }
    }

    fn fail(message: impl Into<String>) -> Check {
        Check {
            ok: false,
            message: message.into(),
        }
    }
}

/// What verifying a report found. Each check is `None` when it was not asked for (no leak,
/// no ledger given).
#[derive(Debug, Clone, PartialEq)]
pub struct ReportVerification {
    /// The signature over the facts.
    pub signature: SignatureCheck,
    /// Whether the leak given is the file the report is about (its SHA-256).
    pub leak: Option<Check>,
    /// Whether the ledger given still extends the head the report was checked against.
    pub ledger: Option<Check>,
    /// Whether re-running the detection gave the same answer.
    pub same_answer: Option<Check>,
    /// Whether it gave the same probabilities.
    pub same_probabilities: Option<Check>,
}

impl ReportVerification {
    /// True when the signature is valid and every check that ran passed.
    pub fn is_ok(&self) -> bool {
        self.signature.is_valid()
            && [
                &self.leak,
                &self.ledger,
                &self.same_answer,
                &self.same_probabilities,
            ]
            .into_iter()
            .flatten()
            .all(|c| c.ok)
    }

    /// One line per check, `OK` or `FAILED` first.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = vec![match &self.signature {
            SignatureCheck::Valid {
                key_fingerprint, ..
            } => format!(
                "OK      signature: valid, Ed25519 by evidence key {key_fingerprint} over the \
                 RFC 8785 canonical facts"
            ),
            SignatureCheck::Unsigned => {
                "FAILED  signature: the report is not signed (filigree detect --report --sign)"
                    .to_string()
            }
            SignatureCheck::Invalid(reason) => format!("FAILED  signature: invalid: {reason}"),
        }];
        for (what, check) in [
            ("leak", &self.leak),
            ("ledger", &self.ledger),
            ("answer", &self.same_answer),
            ("probabilities", &self.same_probabilities),
        ] {
            if let Some(check) = check {
                let status = if check.ok { "OK    " } else { "FAILED" };
                lines.push(format!("{status}  {what}: {}", check.message));
            }
        }
        lines
    }
}

/// What to check a report against beyond its signature.
#[derive(Debug, Clone, Copy, Default)]
pub struct Against<'a> {
    /// The leak file: its SHA-256 is checked, and with `keys` the detection re-run.
    pub leak: Option<&'a Path>,
    /// The marking keys (the report records which fingerprints it was read under).
    pub keys: &'a [Key],
    /// The ledger: checked to extend the head the report records, and used (up to that
    /// head) to re-run accusations and labels.
    pub ledger: Option<&'a Path>,
    /// The master of an informed detection.
    pub reference: Option<&'a Path>,
    /// The evidence key fingerprint the signature must be by.
    pub signer: Option<&'a str>,
}

/// Verifies the report facts at `report` (its `.json`; an `.html` path is read as the JSON
/// beside it). `Err` only when the report cannot be read or is not a report; every finding
/// is in the [`ReportVerification`].
pub fn verify_report(report: &Path, against: &Against) -> Result<ReportVerification> {
    let path = if report.extension().is_some_and(|e| e == "html") {
        report.with_extension("json")
    } else {
        report.to_path_buf()
    };
    let bad = |reason: String| {
        Error::Evidence(EvidenceError::Invalid {
            path: path.clone(),
            reason,
        })
    };
    let text = std::fs::read_to_string(&path).map_err(|source| match source.kind() {
        std::io::ErrorKind::InvalidData => bad("not a text file".into()),
        _ => Error::Io {
            path: path.clone(),
            source,
        },
    })?;
    let facts: Value = serde_json::from_str(&text)
        .map_err(|e| bad(format!("not an evidence report (not JSON: {e})")))?;
    if facts.get("report").and_then(Value::as_str) != Some("filigree evidence report v1") {
        return Err(bad(
            "not a Filigree evidence report (no \"report\": \"filigree evidence report v1\")"
                .into(),
        ));
    }
    let mut result = ReportVerification {
        signature: evidence::verify_object(&facts, against.signer),
        leak: None,
        ledger: None,
        same_answer: None,
        same_probabilities: None,
    };
    let recorded_sha = facts
        .pointer("/suspect/sha256")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut leak_matches = false;
    if let Some(leak) = against.leak {
        let sha = digest::sha256_file(leak)?;
        leak_matches = sha == recorded_sha;
        result.leak = Some(if leak_matches {
            Check::pass(format!(
                "{} has the SHA-256 the report names ({sha})",
                leak.display()
            ))
        } else {
            Check::fail(format!(
                "{} has SHA-256 {sha}, the report names {recorded_sha}: another file",
                leak.display()
            ))
        });
    }
    let head = facts
        .pointer("/reproduce/ledger_head")
        .filter(|h| !h.is_null());
    let mut ledger_ok = head.is_none();
    if let (Some(path), Some(head)) = (against.ledger, head) {
        let entries = head["entries"].as_u64().unwrap_or(0);
        let hash = head["head_hash"].as_str().unwrap_or(ledger::GENESIS_HASH);
        let outcome = evidence::check_extends(path, entries, hash)?;
        ledger_ok = outcome.is_ok();
        result.ledger = Some(Check {
            ok: ledger_ok,
            message: format!(
                "{} against the head the report was checked against ({entries} entries, {}…): {outcome}",
                path.display(),
                &hash[..hash.len().min(16)]
            ),
        });
    } else if against.ledger.is_some() {
        result.ledger = Some(Check::pass(
            "the report was made without a ledger; the ledger given is not used",
        ));
    }
    if against.leak.is_none() || !leak_matches {
        return Ok(result);
    }
    if against.keys.is_empty() {
        result.same_answer = Some(Check::fail(
            "not re-run: give the marking key (--key) to reproduce the detection",
        ));
        return Ok(result);
    }
    if head.is_some() && against.ledger.is_none() {
        result.same_answer = Some(Check::fail(
            "not re-run: the report was made with a ledger; give it (--ledger) to reproduce \
             the accusations and labels",
        ));
        return Ok(result);
    }
    if !ledger_ok {
        result.same_answer = Some(Check::fail(
            "not re-run: the ledger does not extend the head the report was checked against",
        ));
        return Ok(result);
    }
    match reproduce(&facts, against, head) {
        Ok((answer, probabilities)) => {
            result.same_answer = Some(answer);
            result.same_probabilities = Some(probabilities);
        }
        Err(Failure::NotRun(reason)) => {
            result.same_answer = Some(Check::fail(format!("not re-run: {reason}")))
        }
        Err(Failure::Error(e)) => return Err(e),
    }
    Ok(result)
}

enum Failure {
    NotRun(String),
    Error(Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure::Error(e)
    }
}

/// Re-runs the detection the facts record and compares.
fn reproduce(
    facts: &Value,
    against: &Against,
    head: Option<&Value>,
) -> std::result::Result<(Check, Check), Failure> {
    let options = facts
        .pointer("/reproduce/options")
        .ok_or_else(|| Failure::NotRun("the report records no options to re-run".into()))?;
    // The keys, in the order the report was read under.
    let recorded: Vec<&str> = options["keys"]
        .as_array()
        .map(|keys| keys.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut ring = Vec::with_capacity(recorded.len());
    for fingerprint in &recorded {
        match against
            .keys
            .iter()
            .find(|k| k.fingerprint() == *fingerprint)
        {
            Some(key) => ring.push(key.clone()),
            None => {
                return Err(Failure::NotRun(format!(
                    "the report was read under key {fingerprint}, which was not given"
                )));
            }
        }
    }
    if ring.is_empty() {
        return Err(Failure::NotRun("the report records no keys".into()));
    }
    let reference = match options["reference"]["sha256"].as_str() {
        Some(sha) => {
            let Some(master) = against.reference else {
                return Err(Failure::NotRun(
                    "the detection was informed by a master; give it (--reference)".into(),
                ));
            };
            if digest::sha256_file(master)? != sha {
                return Err(Failure::NotRun(format!(
                    "{} is not the master the detection was informed by",
                    master.display()
                )));
            }
            Some(master)
        }
        None => None,
    };
    // The ledger up to the recorded head: entries appended since would change the bound.
    let dir = tempfile::tempdir().map_err(|source| Error::Io {
        path: std::env::temp_dir(),
        source,
    })?;
    let ledger = match (against.ledger, head) {
        (Some(path), Some(head)) => {
            let entries = head["entries"].as_u64().unwrap_or(0) as usize;
            let (verified, _) = ledger::verified_prefix(path)?;
            let copy = dir.path().join("ledger-at-head.jsonl");
            let mut text = String::new();
            for entry in verified.iter().take(entries) {
                text.push_str(&serde_json::to_string(entry).expect("entries serialise"));
                text.push('\n');
            }
            std::fs::write(&copy, text).map_err(|source| Error::Io {
                path: copy.clone(),
                source,
            })?;
            Some(copy)
        }
        _ => None,
    };
    let false_accusation = options["false_accusation"]
        .as_f64()
        .unwrap_or(filigree::collusion::DEFAULT_FALSE_ACCUSATION);
    let keyring = Keyring::new(ring, ledger.as_deref(), false_accusation)?;
    let plan = ReadPlan {
        max_seconds: options["max_seconds"].as_f64(),
        fast: !options["full"].as_bool().unwrap_or(false),
        explain: false,
    };
    let leak = against.leak.expect("checked by the caller");
    let entries = keyring.entries();
    let found = match reference {
        Some(master) => {
            pipeline::detect_file_informed(leak, master, &entries, &plan, &mut |_, _| {})?
        }
        None => pipeline::detect_file_with(leak, &entries, &plan, &mut |_, _| {})?,
    };
    let d = &found.detection;
    let now = json!({
        "key_fingerprint": keyring.key(found.key_index).fingerprint(),
        "recipient": d.recipient,
        "mark_present": d.mark_present(),
        "mixed_with": d.mixed_with,
        "accused": found.accusations.iter().map(|a| json!([a.id, a.title])).collect::<Vec<_>>(),
    });
    let then = json!({
        "key_fingerprint": facts["key_fingerprint"],
        "recipient": facts["verdict"]["recipient"],
        "mark_present": facts["verdict"]["mark_present"],
        "mixed_with": facts["verdict"]["mixed_with"],
        "accused": facts["verdict"]["accused"].as_array().map(|all| all.iter()
            .map(|a| json!([a["id"], a["title_id"]])).collect::<Vec<_>>()),
    });
    let describe = |v: &Value| match v["recipient"].as_u64() {
        Some(id) => format!(
            "recipient {id} under key {}",
            v["key_fingerprint"].as_str().unwrap_or("?")
        ),
        None if v["accused"].as_array().is_some_and(|a| !a.is_empty()) => {
            format!("{} accused", v["accused"])
        }
        None if v["mark_present"] == json!(true) => "a mark but no ID".into(),
        None => "no watermark".into(),
    };
    let answer = if now == then {
        Check::pass(format!("re-run gives the same answer: {}", describe(&now)))
    } else {
        Check::fail(format!(
            "re-run gives {}, the report says {}",
            describe(&now),
            describe(&then)
        ))
    };
    let mut pairs: Vec<(String, Option<f64>, Option<f64>)> = vec![
        (
            "false-positive probability".into(),
            d.false_positive_probability,
            facts["verdict"]["false_positive_probability"].as_f64(),
        ),
        (
            "sync z".into(),
            Some(d.sync_z),
            facts["bound"]["sync_z"].as_f64(),
        ),
        (
            "sync p-value".into(),
            Some(d.sync_p_value),
            facts["bound"]["sync_p_value"].as_f64(),
        ),
    ];
    let recorded_accused = facts["verdict"]["accused"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for (i, a) in found.accusations.iter().enumerate() {
        pairs.push((
            format!("false-accusation probability of {}", a.id),
            Some(a.false_accusation_probability),
            recorded_accused
                .get(i)
                .and_then(|r| r["false_accusation_probability"].as_f64()),
        ));
    }
    let differ: Vec<String> = pairs
        .iter()
        .filter(|(_, now, then)| !same(*now, *then))
        .map(|(what, now, then)| {
            format!("{what} {} now, {} in the report", show(*now), show(*then))
        })
        .collect();
    let probabilities = if differ.is_empty() {
        Check::pass(format!(
            "re-run gives the same probabilities (false-positive probability {}, sync z {:.3})",
            show(d.false_positive_probability),
            d.sync_z
        ))
    } else {
        Check::fail(differ.join("; "))
    };
    Ok((answer, probabilities))
}

fn same(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => a == b || (a - b).abs() <= RELATIVE_TOLERANCE * a.abs().max(b.abs()),
        _ => false,
    }
}

fn show(p: Option<f64>) -> String {
    p.map_or("none".into(), |p| format!("{p:.3e}"))
}

/// The reproduce line a report names, for callers that print it.
pub fn reproduce_command(facts: &Value) -> Option<&str> {
    facts.pointer("/reproduce/command").and_then(Value::as_str)
}
