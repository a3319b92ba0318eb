//! `filigree prepare`: a master into a two-step (A/B) package for streaming.

use std::ops::Range;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use filigree::twostep::prepare::{self, PreparePlan};
use filigree::{Error, Key};

use crate::Failure;
use crate::interrupt::Interrupt;
use crate::progress::FrameProgress;

#[derive(Args)]
pub(crate) struct PrepareArgs {
    /// Key file the variants are marked with.
    #[arg(long)]
    key: PathBuf,
    /// Title ID (0..=1023) that tells this title apart from others under the same key.
    #[arg(long, default_value_t = 0)]
    title_id: u16,
    /// Length of a position (one A/B segment), rounded to whole frames.
    #[arg(long, default_value_t = 2.0)]
    position_seconds: f64,
    /// Rendition heights of the ABR ladder, comma-separated (at most the master's height).
    #[arg(long, value_delimiter = ',', default_value = "1080,720,360")]
    ladder: Vec<usize>,
    /// libx264 CRF of every rendition.
    #[arg(long, default_value_t = 21)]
    crf: u8,
    /// libx264 preset.
    #[arg(long, default_value = "medium")]
    preset: String,
    /// Mark strength (1.0 ≈ 44 dB luma PSNR).
    #[arg(long, default_value_t = 1.0)]
    strength: f32,
    /// Prepare only positions FIRST..END (a scale-out worker's share); run once more with
    /// --finalize when every range is done.
    #[arg(long, value_parser = position_range, value_name = "FIRST..END")]
    positions: Option<Range<u32>>,
    /// Only merge the prepared ranges into the package (manifest, playlists).
    #[arg(long, conflicts_with = "positions")]
    finalize: bool,
    /// The master (any video the CLI reads).
    input: PathBuf,
    /// The package folder (created if missing).
    package: PathBuf,
}

fn position_range(text: &str) -> Result<Range<u32>, String> {
    let parsed = text
        .split_once("..")
        .and_then(|(a, b)| Some(a.parse::<u32>().ok()?..b.parse::<u32>().ok()?));
    match parsed {
        Some(range) if !range.is_empty() => Ok(range),
        _ => Err(format!(
            "{text:?} is not a range FIRST..END with FIRST < END"
        )),
    }
}

pub(crate) fn run(args: &PrepareArgs, quiet: bool) -> Result<ExitCode, Failure> {
    let key = Key::load(&args.key)?;
    if args.finalize {
        let manifest = prepare::finalize(&args.input, &args.package, &key)?;
        if !quiet {
            eprintln!(
                "package {}: {} positions, {} renditions",
                args.package.display(),
                manifest.positions(),
                manifest.renditions.len()
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let plan = PreparePlan {
        title_id: args.title_id,
        position_seconds: args.position_seconds,
        ladder: args.ladder.clone(),
        crf: args.crf,
        preset: args.preset.clone(),
        strength: args.strength,
    };
    let interrupt = Interrupt::install(&args.package)?;
    let mut progress = FrameProgress::new("preparing", quiet);
    let mut on_progress = |done, total| progress.update(done, total);
    let started = Instant::now();
    let cancel = Some(interrupt.cancel_flag());
    let result = match &args.positions {
        Some(range) => prepare::prepare_range(
            &args.input,
            &args.package,
            &key,
            &plan,
            Some(range.clone()),
            cancel,
            &mut on_progress,
        )
        .map(|r| (r.first, r.end, None)),
        None => prepare::prepare(
            &args.input,
            &args.package,
            &key,
            &plan,
            cancel,
            &mut on_progress,
        )
        .map(|m| (0, m.positions(), Some(m))),
    };
    interrupt.embed_done();
    progress.finish();
    let (first, end, manifest) = match result {
        Err(Error::Interrupted) => return Ok(interrupt.stopped()),
        other => other?,
    };
    if !quiet {
        let renditions = manifest
            .map(|m| {
                let names: Vec<String> = m.renditions.iter().map(|r| r.name.clone()).collect();
                format!(", renditions {}", names.join(" "))
            })
            .unwrap_or_default();
        eprintln!(
            "prepared positions {first}..{end} of {} in {:.1} s{renditions}",
            args.package.display(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(ExitCode::SUCCESS)
}
