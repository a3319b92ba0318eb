//! `filigree embed`: mark a video for one recipient.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use filigree::pipeline::{self, EmbedJob, STDIO};
use filigree::video::ffmpeg::{Codec, EncodeOptions};
use filigree::{EmbedConfig, Key, ledger};

use crate::Failure;
use crate::progress::FrameProgress;

#[derive(Args)]
pub struct EmbedArgs {
    /// Key file (from `filigree keygen`).
    #[arg(long)]
    key: PathBuf,
    /// Recipient ID, 0..=4294967295.
    #[arg(long)]
    recipient: u32,
    /// Who the recipient is (stored in the ledger, shown by `detect --ledger`).
    #[arg(long)]
    label: Option<String>,
    /// Append an entry for this copy to a tamper-evident ledger (created if missing).
    #[arg(long)]
    ledger: Option<PathBuf>,
    /// Mark strength: 1.0 ≈ 44 dB luma PSNR; 2.0 is 6 dB stronger and 6 dB more visible.
    #[arg(long, default_value_t = 1.0)]
    strength: f32,
    /// Video encoder: libx264 or libx265.
    #[arg(long, default_value = "libx264")]
    codec: String,
    /// Constant rate factor (default: visually lossless, 17 for libx264, 19 for libx265).
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=51))]
    crf: Option<u8>,
    /// Encoder preset (ultrafast … veryslow).
    #[arg(long, default_value = "medium")]
    preset: String,
    /// Replace OUT if it exists.
    #[arg(long)]
    force: bool,
    /// Measure luma PSNR and SSIM of every marked frame (slower).
    #[arg(long)]
    measure: bool,
    /// Print the summary as one JSON object on stdout.
    #[arg(long)]
    json: bool,
    /// Input video, or `-` for a y4m stream on stdin.
    input: PathBuf,
    /// Output video (.mp4, .mov, .mkv, .y4m …), or `-` for a y4m stream on stdout.
    output: PathBuf,
}

pub fn run(args: &EmbedArgs, quiet: bool) -> Result<ExitCode, Failure> {
    let key = Key::load(&args.key)?;
    let codec = Codec::from_name(&args.codec).ok_or_else(|| {
        Failure(format!(
            "unknown codec {:?} (use libx264 or libx265)",
            args.codec
        ))
    })?;
    if let Some(path) = &args.ledger {
        // Refuse before spending time on the video if the ledger is already broken.
        if path.exists() {
            let report = ledger::verify(path)?;
            if let Some(problem) = report.problem {
                return Err(Failure(format!(
                    "ledger {} is damaged ({}); not embedding",
                    path.display(),
                    problem.message
                )));
            }
        }
    }
    let job = EmbedJob {
        key: &key,
        recipient: args.recipient,
        config: EmbedConfig {
            strength: args.strength,
        },
        encode: EncodeOptions {
            codec,
            crf: args.crf,
            preset: args.preset.clone(),
        },
        overwrite: args.force,
        measure_quality: args.measure,
    };
    let mut progress = FrameProgress::new("marking", quiet);
    let report = pipeline::embed_file(&args.input, &args.output, &job, &mut |done, total| {
        progress.update(done, total)
    });
    progress.finish();
    let report = report?;

    let entry = match &args.ledger {
        Some(path) => Some(ledger::append(
            path,
            &ledger::NewEntry {
                recipient: args.recipient as u64,
                label: args.label.as_deref(),
                key_fingerprint: &key.fingerprint(),
                input_sha256: &file_hash(&args.input)?,
                output_sha256: &file_hash(&args.output)?,
            },
        )?),
        None => None,
    };

    let fps = report.frames as f64 / report.wall_seconds.max(1e-9);
    if args.json {
        let quality = report.quality.as_ref();
        let summary = serde_json::json!({
            "recipient": args.recipient,
            "label": args.label,
            "key_fingerprint": key.fingerprint(),
            "output": args.output.display().to_string(),
            "frames": report.frames,
            "width": report.info.width,
            "height": report.info.height,
            "pixel_format": report.info.format.name(),
            "seconds": report.wall_seconds,
            "frames_per_second": fps,
            "psnr_db": quality.map(|q| q.mean_psnr()),
            "ssim": quality.map(|q| q.mean_ssim()),
            "ledger_seq": entry.as_ref().map(|e| e.seq),
            "skipped_streams": report.skipped_streams,
        });
        // With video on stdout, the summary goes to stderr.
        if args.output == Path::new(STDIO) {
            eprintln!("{summary}");
        } else {
            println!("{summary}");
        }
    } else if !quiet {
        eprintln!(
            "marked {} frames ({}x{} {}) for recipient {} in {:.1} s ({:.1} frames/s) -> {}",
            report.frames,
            report.info.width,
            report.info.height,
            report.info.format.name(),
            args.recipient,
            report.wall_seconds,
            fps,
            args.output.display()
        );
        if let Some(q) = &report.quality {
            eprintln!(
                "luma PSNR {:.2} dB (worst frame {:.2}), SSIM {:.4} (worst {:.4})",
                q.mean_psnr(),
                q.min_psnr(),
                q.mean_ssim(),
                q.min_ssim()
            );
        }
        if let Some(entry) = &entry {
            eprintln!("ledger entry {} appended", entry.seq);
        }
        for stream in &report.skipped_streams {
            eprintln!("note: not copied (unsupported by the output container): {stream}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// SHA-256 of a file, or "-" for a stream (its bytes are gone once read).
fn file_hash(path: &Path) -> Result<String, Failure> {
    if path == Path::new(STDIO) {
        Ok(STDIO.to_string())
    } else {
        Ok(ledger::sha256_file(path)?)
    }
}
