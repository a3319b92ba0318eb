//! `filigree detect`: find the recipient in a video.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use filigree::{Key, ledger, pipeline};

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

    if args.json {
        let summary = serde_json::json!({
            "found": detection.recipient.is_some(),
            "recipient": detection.recipient,
            "label": label,
            "false_positive_probability": detection.false_positive_probability,
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
        });
        println!("{summary}");
    } else {
        match detection.recipient {
            Some(id) => println!(
                "recipient {id}{} found (false-positive probability {:.1e}; {} frames, {:.1} s analysed)",
                label.map(|l| format!(" ({l})")).unwrap_or_default(),
                detection.false_positive_probability.unwrap_or(1.0),
                detection.frames_used,
                found.seconds_analyzed
            ),
            None => println!(
                "no watermark found for key {} ({} frames, {:.1} s analysed; best sync z {:.1})",
                key.fingerprint(),
                detection.frames_used,
                found.seconds_analyzed,
                detection.sync_z
            ),
        }
    }
    Ok(if detection.recipient.is_some() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
