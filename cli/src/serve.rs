//! `filigree serve`: the session server of a two-step package (crate `filigree-server`),
//! with live rendering of live sessions (`--live MASTER`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use filigree::Key;
use filigree::live::live_encoder;
use filigree::marker::{CpuMarker, SharedMarkerFactory};
use filigree::video::ffmpeg::Codec;
use filigree_gpu::GpuMarker;

use crate::Failure;
use crate::gpu;

#[derive(Args)]
pub(crate) struct ServeArgs {
    /// The marking key the package was prepared with (stays in this process).
    #[arg(long)]
    key: PathBuf,
    /// The key session tokens are signed with (`filigree session new --token-key`).
    #[arg(long)]
    token_key: PathBuf,
    /// The ledger sessions are opened in: the player's overlay shows their labels.
    #[arg(long)]
    ledger: Option<PathBuf>,
    /// Address to listen on (TLS is the reverse proxy's job).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The web player's folder (relative to the working directory by default).
    #[arg(long, default_value = "server/web")]
    web: PathBuf,
    /// Render live sessions (`session new --live`) from this master, the one the package
    /// was prepared from: overlay and full mark in every frame, as the viewer watches.
    #[arg(long, value_name = "MASTER", requires = "ledger")]
    live: Option<PathBuf>,
    /// Height of live streams (default: the master's).
    #[arg(long, requires = "live")]
    live_height: Option<usize>,
    /// Live sessions rendered at once (default: measured at start-up).
    #[arg(long, requires = "live")]
    live_capacity: Option<usize>,
    /// A live session nothing was fetched from for this long is dropped.
    #[arg(long, default_value = "30s", value_parser = duration, requires = "live")]
    live_idle: Duration,
    /// Folder for live sessions' segments and the master's recorded hash (stale session
    /// folders swept at start-up; default: one in the system's temporary folder, named
    /// after the port).
    #[arg(long, requires = "live")]
    live_work: Option<PathBuf>,
    /// Live encoder: auto (h264_nvenc where it opens, else libx264), libx264 or h264_nvenc.
    #[arg(long, default_value = "auto", requires = "live")]
    live_encoder: String,
    /// Mark live sessions on the CPU even when a GPU is available.
    #[arg(long, requires = "live")]
    cpu: bool,
    /// The package folder (from `filigree prepare`).
    package: PathBuf,
}

fn duration(text: &str) -> Result<Duration, String> {
    text.parse::<humantime::Duration>()
        .map(Into::into)
        .map_err(|e| format!("{text:?}: {e}"))
}

/// Quality of live streams: a screener that looks like the master at streaming sizes.
const LIVE_CRF: u8 = 21;

pub(crate) fn run(args: &ServeArgs) -> Result<ExitCode, Failure> {
    let key = Key::load(&args.key)?;
    let live = match &args.live {
        Some(master) => Some(live_config(args, master)?),
        None => None,
    };
    filigree_server::run(filigree_server::Config {
        package: args.package.clone(),
        key,
        token_key: Key::load(&args.token_key)?,
        ledger: args.ledger.clone(),
        web: args.web.clone(),
        listen: args.listen,
        live,
    })?;
    Ok(ExitCode::SUCCESS)
}

fn live_config(
    args: &ServeArgs,
    master: &std::path::Path,
) -> Result<filigree_server::LiveConfig, Failure> {
    let encode = match args.live_encoder.as_str() {
        "auto" => live_encoder(true, LIVE_CRF),
        "libx264" => live_encoder(false, LIVE_CRF),
        "h264_nvenc" if filigree::video::ffmpeg::encoder_opens(Codec::Nvenc) => {
            live_encoder(true, LIVE_CRF)
        }
        "h264_nvenc" => {
            return Err(Failure(
                "h264_nvenc does not open here (no NVIDIA GPU, driver or FFmpeg support)".into(),
            ));
        }
        other => {
            return Err(Failure(format!(
                "unknown live encoder {other:?} (use auto, libx264 or h264_nvenc)"
            )));
        }
    };
    if args.live_height.is_some_and(|h| !(16..=4320).contains(&h)) {
        return Err(Failure("--live-height must be 16 to 4320".into()));
    }
    let (marker, marked_on): (SharedMarkerFactory, String) =
        match (!args.cpu).then(gpu::open_or_explain).flatten() {
            Some(gpu) => {
                let marked_on = format!("GPU {}", gpu.description());
                (
                    Arc::new(move |setup| GpuMarker::factory(&gpu)(setup)),
                    marked_on,
                )
            }
            None => (Arc::new(CpuMarker::create), "CPU".into()),
        };
    let work = args.live_work.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("filigree-live-{}", args.listen.port()))
    });
    Ok(filigree_server::LiveConfig {
        master: master.to_path_buf(),
        height: args.live_height,
        capacity: args.live_capacity,
        idle: args.live_idle,
        work,
        marker,
        marked_on,
        encode,
    })
}
