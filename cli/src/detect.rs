//! `filigree detect`: find the recipient in a video.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use filigree::collusion::{Accusation, DEFAULT_FALSE_ACCUSATION};
use filigree::evidence::EvidenceKey;
use filigree::pipeline::{self, Keyring, ReadPlan};
use filigree::twostep::SessionDecode;
use filigree::{Key, TwoStepDetection};

use crate::Failure;
use crate::progress::FrameProgress;

#[derive(Args)]
pub(crate) struct DetectArgs {
    /// Key file the copies were marked with; repeat it for a keyring (each key is tried on
    /// one reading of the leak, and every probability is charged for all of them).
    #[arg(long, required_unless_present = "keys")]
    key: Vec<PathBuf>,
    /// A folder of key files to try as well (every regular file in it must be a key).
    #[arg(long, value_name = "DIR")]
    keys: Option<PathBuf>,
    /// Print one JSON object on stdout.
    #[arg(long)]
    json: bool,
    /// The ledger of copies and sessions issued under the key: labels the recovered ID and
    /// scores every issued recipient and session against the leak, accusing colluders.
    #[arg(long)]
    ledger: Option<PathBuf>,
    /// With --ledger: accuse only when the probability that any innocent among those scored
    /// would score as high is at most this.
    #[arg(long, default_value_t = DEFAULT_FALSE_ACCUSATION, value_parser = probability)]
    false_accusation: f64,
    /// Analyse at most this many seconds from the start (default: the whole video).
    #[arg(long, value_parser = positive_seconds)]
    max_seconds: Option<f64>,
    /// Read every frame to the end. By default the evidence is looked at after 4, 8, 16 …
    /// s and reading stops once one recipient is certain (every probability is charged for
    /// each look the file allows), and past 32 s only keyframes are decoded.
    #[arg(long)]
    full: bool,
    /// Write an evidence report: a self-contained HTML page here and the same facts as JSON
    /// beside it (same name, `.json`). For a batch, a folder that gets one report per file.
    #[arg(long, value_name = "FILE.html")]
    report: Option<PathBuf>,
    /// With --report: sign the report's facts with this evidence key (`filigree keygen
    /// --evidence`), so `filigree verify-report` can prove who made them and from what.
    #[arg(long, value_name = "EVIDENCE_KEY", requires = "report")]
    sign: Option<PathBuf>,
    /// The original master: informed detection registers the leak to it (in time and
    /// size), subtracts it and detects on the residue, for leaks too short or damaged for a
    /// blind reading. Reads every frame, at most 120 s of the leak.
    #[arg(long, value_name = "MASTER")]
    reference: Option<PathBuf>,
    /// Suspect video, or `-` for a y4m stream on stdin. Several files or a folder make a
    /// batch: one JSON line per file (an `error` field for a file that could not be read),
    /// exit status 2 only if some file failed.
    #[arg(required = true)]
    input: Vec<PathBuf>,
}

fn positive_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 => Ok(s),
        _ => Err(format!("{text:?} is not a positive number of seconds")),
    }
}

fn probability(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(p) if p > 0.0 && p < 1.0 => Ok(p),
        _ => Err(format!("{text:?} is not a probability between 0 and 1")),
    }
}

/// The keys of `--key` and `--keys DIR`, in that order (a folder's sorted by name).
fn keyring(args: &DetectArgs) -> Result<Vec<Key>, Failure> {
    let mut paths = args.key.clone();
    if let Some(dir) = &args.keys {
        let files = files_in(dir)?;
        if files.is_empty() {
            return Err(Failure(format!("no key files in {}", dir.display())));
        }
        paths.extend(files);
    }
    Ok(paths
        .iter()
        .map(|path| Key::load(path))
        .collect::<Result<_, _>>()?)
}

pub(crate) fn run(args: &DetectArgs, quiet: bool) -> Result<ExitCode, Failure> {
    // Loaded first: a bad evidence key fails before minutes of reading.
    let signer = args.sign.as_deref().map(EvidenceKey::load).transpose()?;
    let ring = Keyring::new(
        keyring(args)?,
        args.ledger.as_deref(),
        args.false_accusation,
    )?;
    let inputs = batch_inputs(&args.input)?;
    if inputs.len() == 1 && args.input.len() == 1 && !args.input[0].is_dir() {
        let report = args.report.as_deref().map(|path| (path, signer.as_ref()));
        let outcome = detect_one(args, &inputs[0], &ring, quiet, report)?;
        if args.json {
            println!("{}", outcome.json);
        } else {
            outcome.lines.iter().for_each(|line| println!("{line}"));
        }
        return Ok(exit_code(outcome.found));
    }
    // A batch: JSON lines, progress over the files, exit 2 only when some file failed.
    if let Some(folder) = &args.report {
        std::fs::create_dir_all(folder).map_err(|e| {
            Failure(format!(
                "cannot create the report folder {}: {e}",
                folder.display()
            ))
        })?;
    }
    let mut failed = 0;
    for (i, input) in inputs.iter().enumerate() {
        if !quiet {
            eprintln!("[{}/{}] {}", i + 1, inputs.len(), input.display());
        }
        let report = args.report.as_ref().map(|folder| {
            let stem = input.file_stem().unwrap_or_default().to_string_lossy();
            folder.join(format!("{i:04}-{stem}.html"))
        });
        let report = report.as_deref().map(|path| (path, signer.as_ref()));
        let mut json = match detect_one(args, input, &ring, true, report) {
            Ok(outcome) => outcome.json,
            Err(Failure(error)) => {
                failed += 1;
                serde_json::json!({ "found": false, "error": error })
            }
        };
        json["input"] = input.display().to_string().into();
        println!("{json}");
    }
    if failed > 0 {
        eprintln!(
            "filigree: {failed} of {} files could not be read",
            inputs.len()
        );
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}

/// The files a batch reads: files as given, folders' regular files sorted by name.
fn batch_inputs(given: &[PathBuf]) -> Result<Vec<PathBuf>, Failure> {
    let mut inputs = Vec::new();
    for path in given {
        if !path.is_dir() {
            inputs.push(path.clone());
            continue;
        }
        inputs.extend(files_in(path)?);
    }
    if inputs.is_empty() {
        return Err(Failure("no files to read".into()));
    }
    Ok(inputs)
}

/// The regular files in folder `dir`, sorted by name; an entry that cannot be read is an
/// error rather than a file silently left out.
fn files_in(dir: &std::path::Path) -> Result<Vec<PathBuf>, Failure> {
    let unreadable =
        |e: std::io::Error| Failure(format!("cannot read the folder {}: {e}", dir.display()));
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(unreadable)? {
        let path = entry.map_err(unreadable)?.path();
        if path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// What detecting one file said: the JSON object, the text lines, and whether anyone was
/// found.
struct Outcome {
    json: serde_json::Value,
    lines: Vec<String>,
    found: bool,
}

fn detect_one(
    args: &DetectArgs,
    input: &std::path::Path,
    ring: &Keyring,
    quiet: bool,
    report: Option<(&std::path::Path, Option<&EvidenceKey>)>,
) -> Result<Outcome, Failure> {
    let mut progress = FrameProgress::new("analysing", quiet);
    let entries = ring.entries();
    let plan = ReadPlan {
        max_seconds: args.max_seconds,
        fast: !args.full,
        explain: report.is_some(),
    };
    let mut update = |done, total| progress.update(done, total);
    let result = match &args.reference {
        Some(master) => pipeline::detect_file_informed(input, master, &entries, &plan, &mut update),
        None => pipeline::detect_file_with(input, &entries, &plan, &mut update),
    };
    progress.finish();
    let found = result?;
    let detection = &found.detection;
    let key = ring.key(found.key_index);
    let issued = ring.issued(found.key_index);
    let labels = Labels {
        ring,
        key_index: found.key_index,
    };

    let label = detection.recipient.and_then(|id| labels.of(id, None));
    let two_step = found.two_step.as_ref().map(TwoStepSummary::of);
    let session_label = two_step
        .as_ref()
        .and_then(|t| t.session)
        .and_then(|(title, session)| labels.of(session, Some(title)));
    let session_found = two_step.as_ref().is_some_and(|t| t.session.is_some());
    let found_any = detection.recipient.is_some() || session_found || !found.accusations.is_empty();
    let accused: Vec<serde_json::Value> = found
        .accusations
        .iter()
        .map(|a| accusation_json(a, &labels))
        .collect();
    let timeline: Vec<serde_json::Value> = found
        .timeline
        .iter()
        .map(|r| {
            serde_json::json!({
                "recipient": r.recipient,
                "label": labels.of(r.recipient, None),
                "time_ranges": r.time_ranges,
            })
        })
        .collect();
    let recipients_seen = detection.mixed_with.len()
        + 1
        + found
            .timeline
            .iter()
            .filter(|r| Some(r.recipient) != detection.recipient)
            .filter(|r| !detection.mixed_with.contains(&r.recipient))
            .count();
    let mixed = detection.recipient.is_some() && recipients_seen > 1 || found.accusations.len() > 1;

    let json = {
        let false_positive_probability = detection
            .false_positive_probability
            .or(two_step.as_ref().and_then(|t| t.false_positive_probability));
        serde_json::json!({
            "found": found_any,
            "mark_present": detection.mark_present() || two_step.as_ref().is_some_and(|t| t.mark_present),
            "recipient": detection.recipient,
            "live_session": detection
                .recipient
                .filter(|&id| ring.is_live_session(found.key_index, id))
                .map(|id| format!("{id:08x}")),
            "label": label.as_ref().or(session_label.as_ref()),
            "false_positive_probability": false_positive_probability,
            "frames_used": detection.frames_used,
            "seconds_analyzed": found.seconds_analyzed,
            "stopped_early": found.stopped_early,
            "looks": found.looks,
            "frames_screened": found.frames_screened,
            "informed": found.registration.as_ref().map(|r| serde_json::json!({
                "frames_registered": r.frames,
                "mean_similarity": r.mean_similarity,
                "master_span_seconds": [r.master_span.0, r.master_span.1],
            })),
            "sync_z": detection.sync_z,
            "sync_p_value": detection.sync_p_value,
            "magnification": detection.magnification,
            "aspect": detection.aspect,
            "rotation_degrees": detection.rotation_degrees,
            "reflection": detection.reflection.name(),
            "picture": detection.picture,
            "tracked": detection.tracked,
            "key_fingerprint": key.fingerprint(),
            "keys_tried": found.keys_tried,
            "width": found.info.width,
            "height": found.info.height,
            "frame_sizes": found.frame_sizes,
            "session": two_step.as_ref().and_then(|t| t.session).map(|(_, s)| format!("{s:08x}")),
            "two_step": two_step.as_ref().map(|t| t.json.clone()),
            "mixed": mixed,
            "mixed_with": detection.mixed_with,
            "timeline": timeline,
            "accused": accused,
        })
    };
    let mut lines = Vec::new();
    let under_key = if found.keys_tried > 1 {
        format!(
            " under key {} ({} keys tried)",
            key.fingerprint(),
            found.keys_tried
        )
    } else {
        String::new()
    };
    if let Some(id) = detection.recipient {
        lines.push(format!(
            "{}{} found{under_key} (false-positive probability {:.1e}; {} frames, {:.1} s analysed)",
            labels.who(id),
            label.as_ref().map(|l| format!(" ({l})")).unwrap_or_default(),
            detection.false_positive_probability.unwrap_or(1.0),
            detection.frames_used,
            found.seconds_analyzed
        ));
        if found.stopped_early {
            lines.push(format!(
                "  verdict at the look after {:.0} s: the rest of the file was not read (--full reads it all)",
                found.seconds_analyzed
            ));
        }
        if mixed {
            lines.push("the leak mixes several recipients' copies (averaged or spliced):".into());
            for &other in &detection.mixed_with {
                lines.push(format!(
                    "  also decoded: recipient {other}{}",
                    labels.describe(other, None)
                ));
            }
            for r in &found.timeline {
                lines.push(format!(
                    "  recipient {}{} at {}",
                    r.recipient,
                    labels.describe(r.recipient, None),
                    ranges(&r.time_ranges)
                ));
            }
        }
    } else if let Some(t) = two_step.as_ref().filter(|t| t.mark_present) {
        lines.push(t.describe(session_label.as_deref(), found.seconds_analyzed));
    } else if detection.mark_present() && found.accusations.is_empty() {
        lines.push(format!(
            "a watermark is present for key {} but no ID could be read ({} frames, {:.1} s analysed; sync z {:.1}): \
             too damaged, or mixed from several copies (give --ledger to score the issued ones)",
            key.fingerprint(),
            detection.frames_used,
            found.seconds_analyzed,
            detection.sync_z
        ));
    } else if !found.accusations.is_empty() {
        lines.push(format!(
            "a watermark is present for key {} ({} frames, {:.1} s analysed; sync z {:.1}): \
             no single ID decodes, the issued copies' scores say whose went into it",
            key.fingerprint(),
            detection.frames_used,
            found.seconds_analyzed,
            detection.sync_z
        ));
    } else {
        lines.push(format!(
            "no watermark found for key {} ({} frames, {:.1} s analysed; best sync z {:.1})",
            key.fingerprint(),
            detection.frames_used,
            found.seconds_analyzed,
            detection.sync_z
        ));
    }
    if let Some(r) = &found.registration {
        lines.push(format!(
            "informed by the master: {} frames registered to its {:.1}-{:.1} s (mean thumbnail correlation {:.2}), original subtracted",
            r.frames, r.master_span.0, r.master_span.1, r.mean_similarity
        ));
    }
    if let Some(issued) = issued {
        let scored =
            issued.recipients.len() + issued.sessions.values().map(Vec::len).sum::<usize>();
        lines.push(format!(
            "ledger: {scored} issued copies and sessions scored, {} accused (false-accusation bound {:.0e})",
            found.accusations.len(),
            issued.false_accusation
        ));
        for a in &found.accusations {
            let who = match a.title {
                Some(title) => format!("session {:08x} of title {title}", a.id),
                None => labels.who(a.id),
            };
            lines.push(format!(
                "  accused: {who}{}, false-accusation probability {:.1e}, at {}",
                labels.describe(a.id, a.title),
                a.false_accusation_probability,
                ranges(&a.time_ranges)
            ));
        }
    }
    let mut json = json;
    if let Some((path, signer)) = report {
        let command_line: Vec<String> = std::env::args().collect();
        let fingerprints: Vec<String> = (0..found.keys_tried)
            .map(|i| ring.key(i).fingerprint())
            .collect();
        let case = filigree_report::Case {
            suspect: input,
            found: &found,
            key_fingerprint: &key.fingerprint(),
            label: label.as_deref().or(session_label.as_deref()),
            ledger: args.ledger.as_deref(),
            command_line: &command_line,
            verdict: &lines[0],
            options: filigree_report::Options {
                plan,
                keys: &fingerprints,
                false_accusation: args.false_accusation,
                reference: args.reference.as_deref(),
            },
        };
        let facts = filigree_report::write_signed(&case, path, signer)?;
        json["report"] = path.display().to_string().into();
        json["report_json"] = facts.display().to_string().into();
        lines.push(format!(
            "evidence report: {} (facts: {})",
            path.display(),
            facts.display()
        ));
    }
    Ok(Outcome {
        json,
        lines,
        found: found_any,
    })
}

fn exit_code(found: bool) -> ExitCode {
    if found {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Leak time ranges as `0.0-4.5 s, 9.0-12.0 s`.
fn ranges(ranges: &[(f64, f64)]) -> String {
    let parts: Vec<String> = ranges
        .iter()
        .map(|(start, end)| format!("{start:.1}-{end:.1} s"))
        .collect();
    parts.join(", ")
}

fn accusation_json(a: &Accusation, labels: &Labels) -> serde_json::Value {
    let mut json = serde_json::json!({
        "label": labels.of(a.id, a.title),
        "false_accusation_probability": a.false_accusation_probability,
        "time_ranges": a.time_ranges,
    });
    match a.title {
        Some(title) => {
            json["session"] = format!("{:08x}", a.id).into();
            json["title_id"] = title.into();
        }
        None => {
            json["recipient"] = a.id.into();
            if labels.ring.is_live_session(labels.key_index, a.id) {
                json["live_session"] = format!("{:08x}", a.id).into();
            }
        }
    }
    json
}

/// Labels of the copies (`title` `None`) and sessions issued under the key that matched.
struct Labels<'r> {
    ring: &'r Keyring,
    key_index: usize,
}

impl Labels<'_> {
    fn of(&self, id: u32, title: Option<u16>) -> Option<String> {
        self.ring
            .label(self.key_index, id, title)
            .map(str::to_string)
    }

    /// How a decoded or accused single-step ID is named: a live session by its hex ID.
    fn who(&self, id: u32) -> String {
        if self.ring.is_live_session(self.key_index, id) {
            format!("live session {id:08x}")
        } else {
            format!("recipient {id}")
        }
    }

    /// ` (label)`, or nothing.
    fn describe(&self, id: u32, title: Option<u16>) -> String {
        self.of(id, title)
            .map(|l| format!(" ({l})"))
            .unwrap_or_default()
    }
}

/// What a two-step reading says, for the line and the JSON.
struct TwoStepSummary {
    mark_present: bool,
    session: Option<(u16, u32)>,
    false_positive_probability: Option<f64>,
    json: serde_json::Value,
    text: String,
}

impl TwoStepSummary {
    fn of(found: &TwoStepDetection) -> TwoStepSummary {
        let title = found.titles.first();
        let (decode, rank) = match title.map(|t| t.session) {
            Some(SessionDecode::Identified(_)) => ("identified", 32),
            Some(SessionDecode::Inconsistent) => ("inconsistent", 0),
            Some(SessionDecode::Undetermined { rank }) => ("undetermined", rank),
            None => ("none", 0),
        };
        let positions = title.map_or(0, |t| t.positions.len());
        let mixed = title.map_or(0, |t| t.positions.values().filter(|v| v.len() > 1).count());
        let json = serde_json::json!({
            "mark_present": title.is_some(),
            "title_id": title.map(|t| t.title),
            "decode": decode,
            "session_bits_fixed": rank,
            "positions_read": positions,
            "positions_with_both_variants": mixed,
            "seconds_needed": title.and_then(|t| t.seconds_needed),
            "windows_decoded": found.windows_decoded,
            "false_positive_probability": title.and_then(|t| t.false_positive_probability),
            "mark_false_positive_probability": found.mark_false_positive_probability,
            "other_titles": found.titles.iter().skip(1).map(|t| t.title).collect::<Vec<_>>(),
        });
        let text = match (title, decode) {
            (Some(t), "identified") => format!(
                "two-step leak of title {}, {positions} positions read, identified after {:.1} s",
                t.title,
                t.seconds_needed.unwrap_or(0.0)
            ),
            (Some(t), "inconsistent") => format!(
                "two-step mark present (title {}, {positions} positions read, {mixed} with both variants): \
                 the positions fit no single session, segments of several sessions (a mixed leak)",
                t.title
            ),
            (Some(t), _) => format!(
                "two-step mark present (title {}, {positions} positions read, {rank} of 32 session bits fixed): \
                 not enough video to identify the session",
                t.title
            ),
            (None, _) => String::new(),
        };
        TwoStepSummary {
            mark_present: title.is_some(),
            session: found.session(),
            false_positive_probability: title.and_then(|t| t.false_positive_probability),
            json,
            text,
        }
    }

    fn describe(&self, label: Option<&str>, seconds: f64) -> String {
        match self.session {
            Some((_, session)) => format!(
                "session {session:08x}{} found: {} (false-positive probability {:.1e}; {seconds:.1} s analysed)",
                label.map(|l| format!(" ({l})")).unwrap_or_default(),
                self.text,
                self.false_positive_probability.unwrap_or(1.0),
            ),
            None => format!("{} ({seconds:.1} s analysed)", self.text),
        }
    }
}
