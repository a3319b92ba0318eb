//! `filigree embed`: mark a video for one recipient.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use filigree::overlay::{OverlayConfig, Position, SessionInfo, Style};
use filigree::pipeline::{self, EmbedJob, STDIO};
use filigree::video::PixelFormat;
use filigree::video::ffmpeg::{Codec, EncodeOptions};
use filigree::{EmbedConfig, Error, Key};

use crate::Failure;
use crate::gpu;
use crate::interrupt::Interrupt;
use crate::progress::FrameProgress;
use filigree_gpu::GpuMarker;

#[derive(Args)]
pub(crate) struct EmbedArgs {
    #[command(flatten)]
    mark: MarkArgs,
    /// Measure luma PSNR and SSIM of every marked frame (slower).
    #[arg(long)]
    measure: bool,
    /// Mark on the GPU (falls back to the CPU, with a note, when there is none).
    #[arg(long)]
    gpu: bool,
}

#[derive(Args)]
pub(crate) struct ScreenArgs {
    #[command(flatten)]
    mark: MarkArgs,
    /// Pace the output to the source frame rate, for live playback (`... - | ffplay -`).
    #[arg(long)]
    realtime: bool,
    /// Mark on the CPU even when a GPU is available.
    #[arg(long)]
    cpu: bool,
}

/// What `embed` and `screen` share: who the copy is for and how it is written.
#[derive(Args)]
struct MarkArgs {
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
    /// Video encoder: libx264, libx265, prores_ks (422 HQ; 4444 for 4:4:4), dnxhd (DNxHR
    /// HQX for 10-bit 4:2:2, 444 for 10-bit 4:4:4, else HQ), libsvtav1 or libvpx-vp9.
    #[arg(long, default_value = "libx264")]
    codec: String,
    /// Constant rate factor (default: visually lossless: libx264 17, libx265 19, libsvtav1
    /// 22, libvpx-vp9 20; ProRes and DNxHR have none).
    #[arg(long)]
    crf: Option<u8>,
    /// Encoder speed preset (default: medium for libx264/libx265, 8 for libsvtav1, cpu-used
    /// 4 for libvpx-vp9; ProRes and DNxHR have none).
    #[arg(long)]
    preset: Option<String>,
    /// Pixel format of the output video, e.g. yuv420p for a screener browsers play from a
    /// 10-bit 4:2:2 master (the mark is added at the source's format, then converted).
    /// Default: the source's, or the encoder's closest.
    #[arg(long, value_name = "FORMAT")]
    pix_fmt: Option<String>,
    /// Replace OUT if it exists.
    #[arg(long)]
    force: bool,
    /// Print the summary as one JSON object (on stdout, or stderr when OUT is `-`).
    #[arg(long)]
    json: bool,
    /// Burn a visible overlay into every frame: text with {recipient}, {label}, {session},
    /// {date}, {time} (UTC), {timecode}, {frame}; `\n` starts a new line.
    #[arg(long, value_name = "TEMPLATE")]
    overlay: Option<String>,
    /// Overlay text line height as a fraction of the frame height.
    #[arg(long, default_value_t = 0.04, requires = "overlay")]
    overlay_size: f32,
    /// Overlay opacity, 0 to 1.
    #[arg(long, default_value_t = 0.6, requires = "overlay")]
    overlay_opacity: f32,
    /// Overlay text colour as RRGGBB hex.
    #[arg(long, default_value = "ffffff", value_parser = parse_color, requires = "overlay")]
    overlay_color: [u8; 3],
    /// top-left, top-right, bottom-left, bottom-right, center, tiled or moving (a keyed path).
    #[arg(long, default_value = "bottom-right", value_parser = parse_position, requires = "overlay")]
    overlay_position: Position,
    /// outline, shadow or none.
    #[arg(long, default_value = "outline", value_parser = parse_style, requires = "overlay")]
    overlay_style: Style,
    /// Session ID shown by {session} (default: random 8 hex digits).
    #[arg(long, requires = "overlay")]
    session: Option<String>,
    /// Input video, or `-` for a y4m stream on stdin.
    input: PathBuf,
    /// Output video (.mp4, .mov, .mkv, .y4m …), or `-` for a y4m stream on stdout.
    output: PathBuf,
}

/// How a command wants its frames marked.
struct Marking {
    prefer_gpu: bool,
    measure_quality: bool,
    realtime: bool,
}

pub(crate) fn run(args: &EmbedArgs, quiet: bool) -> Result<ExitCode, Failure> {
    mark(
        &args.mark,
        &Marking {
            prefer_gpu: args.gpu,
            measure_quality: args.measure,
            realtime: false,
        },
        quiet,
    )
}

pub(crate) fn run_screen(args: &ScreenArgs, quiet: bool) -> Result<ExitCode, Failure> {
    mark(
        &args.mark,
        &Marking {
            prefer_gpu: !args.cpu,
            measure_quality: false,
            realtime: args.realtime,
        },
        quiet,
    )
}

fn mark(args: &MarkArgs, marking: &Marking, quiet: bool) -> Result<ExitCode, Failure> {
    let key = Key::load(&args.key)?;
    let codec = Codec::from_name(&args.codec).ok_or_else(|| {
        Failure(format!(
            "unknown codec {:?} (use {})",
            args.codec,
            Codec::names()
        ))
    })?;
    let pix_fmt = args
        .pix_fmt
        .as_deref()
        .map(|name| {
            PixelFormat::from_name(name).ok_or_else(|| {
                let names: Vec<&str> = PixelFormat::ALL.iter().map(|f| f.name()).collect();
                Failure(format!(
                    "unknown pixel format {name:?} (use {})",
                    names.join(", ")
                ))
            })
        })
        .transpose()?;
    if let Some(path) = &args.ledger {
        // Refuse before spending time on the video if the ledger is already broken.
        pipeline::check_ledger_before_embed(path)?;
    }
    let interrupt = Interrupt::install(&args.output)?;
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
            pix_fmt,
        },
        overwrite: args.force,
        measure_quality: marking.measure_quality,
        overlay: args.overlay.as_ref().map(|template| OverlayConfig {
            template: template.clone(),
            size: args.overlay_size,
            opacity: args.overlay_opacity,
            color: args.overlay_color,
            style: args.overlay_style,
            position: args.overlay_position,
        }),
        realtime: marking.realtime,
        cancel: Some(interrupt.cancel_flag()),
        session: Some(SessionInfo::new(
            args.recipient,
            args.label.clone(),
            match &args.session {
                Some(id) => id.clone(),
                None => SessionInfo::random_id()?,
            },
        )),
    };
    let backend = if marking.prefer_gpu {
        gpu::open_or_explain()
    } else {
        None
    };
    let mut progress = FrameProgress::new("marking", quiet);
    let mut on_progress = |done, total| progress.update(done, total);
    let report = match &backend {
        Some(gpu) => pipeline::embed_file_with(
            &args.input,
            &args.output,
            &job,
            &GpuMarker::factory(gpu),
            &mut on_progress,
        ),
        None => pipeline::embed_file(&args.input, &args.output, &job, &mut on_progress),
    };
    interrupt.embed_done();
    progress.finish();
    let report = match report {
        Err(Error::Interrupted) => return Ok(interrupt.stopped()),
        report => report?,
    };
    let marked_on = match &backend {
        Some(gpu) => format!("GPU {}", gpu.description()),
        None => "CPU".to_string(),
    };
    let entry = match &args.ledger {
        Some(path) => Some(pipeline::record_in_ledger(
            path,
            &key,
            args.recipient,
            args.label.as_deref(),
            &args.input,
            &args.output,
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
            "output_pixel_format": report.output_format.name(),
            "seconds": report.wall_seconds,
            "frames_per_second": fps,
            "psnr_db": quality.map(|q| q.mean_psnr()),
            "ssim": quality.map(|q| q.mean_ssim()),
            "ledger_seq": entry.as_ref().map(|e| e.seq),
            "skipped_streams": report.skipped_streams,
            "session": job.overlay.as_ref().and(job.session.as_ref()).map(|s| &s.session),
            "marked_on": marked_on,
        });
        // With video on stdout, the summary goes to stderr.
        if args.output == Path::new(STDIO) {
            eprintln!("{summary}");
        } else {
            println!("{summary}");
        }
    } else if !quiet {
        let format = match report.output_format == report.info.format {
            true => report.info.format.name().to_string(),
            false => format!(
                "{}, written as {}",
                report.info.format.name(),
                report.output_format.name()
            ),
        };
        eprintln!(
            "marked {} frames ({}x{} {format}) for recipient {} on the {marked_on} in {:.1} s ({:.1} frames/s) -> {}",
            report.frames,
            report.info.width,
            report.info.height,
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

fn parse_color(text: &str) -> Result<[u8; 3], String> {
    filigree::overlay::parse_color(text)
        .ok_or_else(|| format!("{text:?} is not a RRGGBB hex colour"))
}

fn parse_position(text: &str) -> Result<Position, String> {
    Position::from_name(text).ok_or_else(|| {
        let names: Vec<&str> = Position::NAMES.iter().map(|(n, _)| *n).collect();
        format!("unknown position {text:?} (use {})", names.join(", "))
    })
}

fn parse_style(text: &str) -> Result<Style, String> {
    Style::from_name(text)
        .ok_or_else(|| format!("unknown style {text:?} (use outline, shadow or none)"))
}
