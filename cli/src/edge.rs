//! `filigree edge`: writes an nginx A/B edge for two-step packages (crate `filigree-server`,
//! module `edge`), which serves viewers' CDN tokens (`session new --token-format cwt`)
//! without the marking key.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use filigree::Key;
use filigree::twostep::cwt::EdgeKeys;
use filigree_server::edge::{DEBIAN_NJS_MODULE, EdgeConfig};

use crate::Failure;

#[derive(Args)]
pub(crate) struct EdgeArgs {
    /// The key session tokens are signed with: the edge gets two subkeys of it, not the key.
    #[arg(long)]
    token_key: PathBuf,
    /// Folder to write the edge into (nginx.conf, filigree-edge.js, edge-keys.conf).
    #[arg(long)]
    out: PathBuf,
    /// nginx `listen` value.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// The web player's folder (relative to the working directory by default).
    #[arg(long, default_value = "server/web")]
    web: PathBuf,
    /// nginx's njs module.
    #[arg(long, default_value = DEBIAN_NJS_MODULE)]
    njs_module: PathBuf,
    /// The package folders, one per title.
    #[arg(required = true)]
    packages: Vec<PathBuf>,
}

pub(crate) fn run(args: &EdgeArgs, quiet: bool) -> Result<ExitCode, Failure> {
    let token_key = Key::load(&args.token_key)?;
    filigree_server::edge::write(
        &args.out,
        &EdgeConfig {
            packages: args.packages.clone(),
            web: args.web.clone(),
            listen: args.listen.clone(),
            keys: EdgeKeys::of(&token_key),
            njs_module: args.njs_module.clone(),
        },
    )?;
    if !quiet {
        eprintln!(
            "filigree: edge written; run it with: nginx -p {0} -c nginx.conf (viewers' links: \
             /t/<title>/play/<token> from `filigree session new --token-format cwt`)",
            args.out.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
