//! `filigree serve`: the session server of a two-step package (crate `filigree-server`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use filigree::Key;

use crate::Failure;

#[derive(Args)]
pub struct ServeArgs {
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
    /// The package folder (from `filigree prepare`).
    package: PathBuf,
}

pub fn run(args: &ServeArgs) -> Result<ExitCode, Failure> {
    filigree_server::run(filigree_server::Config {
        package: args.package.clone(),
        key: Key::load(&args.key)?,
        token_key: Key::load(&args.token_key)?,
        ledger: args.ledger.clone(),
        web: args.web.clone(),
        listen: args.listen,
    })
    .map_err(Failure)?;
    Ok(ExitCode::SUCCESS)
}
