//! `filigree detect`: find the recipient in a video.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use filigree::twostep::SessionDecode;
use filigree::{Key, TwoStepDetection, ledger, pipeline};

use crate::Failure;
use crate::progress::FrameProgress;

#[derive(Args)]
pub struct DetectArgs {
    /// Key file the copies were marked with.
    #[arg(long)]
    key: PathBuf,
    /// Print one JSON object on stdout.
    #[arg(long)]
    json: bool,
    /// Resolve the recovered ID to its label through this ledger.
    #[arg(long)]
    ledger: Option<PathBuf>,
    /// Analyse at most this many seconds from the start (default: the whole video).
    #[arg(long, value_parser = positive_seconds)]
    max_seconds: Option<f64>,
    /// Suspect video, or `-` for a y4m stream on stdin.
    input: PathBuf,
}

fn positive_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 => Ok(s),
        _ => Err(format!("{text:?} is not a positive number of seconds")),
    }
}

pub fn run(args: &DetectArgs, quiet: bool) -> Result<ExitCode, Failure> {
    let key = Key::load(&args.key)?;
    let mut progress = FrameProgress::new("analysing", quiet);
    let result = pipeline::detect_file(&args.input, &key, args.max_seconds, &mut |done, total| {
        progress.update(done, total)
    });
    progress.finish();
    let found = result?;
    let detection = &found.detection;

    let label = match (&args.ledger, detection.recipient) {
        (Some(path), Some(id)) => {
            ledger::find_recipient(path, id as u64, &key.fingerprint())?.and_then(|e| e.label)
        }
        _ => None,
    };
    let two_step = found.two_step.as_ref().map(TwoStepSummary::of);
    let session_label = match (&args.ledger, two_step.as_ref().and_then(|t| t.session)) {
        (Some(path), Some((title, session))) => {
            ledger::find_session(path, title, session, &key.fingerprint())?.and_then(|e| e.label)
        }
        _ => None,
    };
    let session_found = two_step.as_ref().is_some_and(|t| t.session.is_some());
    let found_any = detection.recipient.is_some() || session_found;

    if args.json {
        let false_positive_probability = detection
            .false_positive_probability
            .or(two_step.as_ref().and_then(|t| t.false_positive_probability));
        let summary = serde_json::json!({
            "found": found_any,
            "recipient": detection.recipient,
            "label": label.as_ref().or(session_label.as_ref()),
            "false_positive_probability": false_positive_probability,
            "frames_used": detection.frames_used,
            "seconds_analyzed": found.seconds_analyzed,
            "sync_z": detection.sync_z,
            "sync_p_value": detection.sync_p_value,
            "magnification": detection.magnification,
            "aspect": detection.aspect,
            "rotation_degrees": detection.rotation_degrees,
            "reflection": detection.reflection.name(),
            "key_fingerprint": key.fingerprint(),
            "width": found.info.width,
            "height": found.info.height,
            "session": two_step.as_ref().and_then(|t| t.session).map(|(_, s)| format!("{s:08x}")),
            "two_step": two_step.as_ref().map(|t| t.json.clone()),
        });
        println!("{summary}");
    } else if let Some(id) = detection.recipient {
        println!(
            "recipient {id}{} found (false-positive probability {:.1e}; {} frames, {:.1} s analysed)",
            label.map(|l| format!(" ({l})")).unwrap_or_default(),
            detection.false_positive_probability.unwrap_or(1.0),
            detection.frames_used,
            found.seconds_analyzed
        );
    } else if let Some(t) = two_step.as_ref().filter(|t| t.mark_present) {
        println!(
            "{}",
            t.describe(session_label.as_deref(), found.seconds_analyzed)
        );
    } else {
        println!(
            "no watermark found for key {} ({} frames, {:.1} s analysed; best sync z {:.1})",
            key.fingerprint(),
            detection.frames_used,
            found.seconds_analyzed,
            detection.sync_z
        );
    }
    Ok(if found_any {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
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
