//! `filigree serve`: serves a two-step package to viewers, each under a signed, expiring
//! session token, with the web player beside it.
//!
//! Every request under `/s/{token}/` is checked against the token key first (403 for a
//! missing, malformed, forged or expired token, or one for another title), then mapped:
//! the session's playlists are computed from the package on each request, and a segment
//! URL names only the rendition and the position: which variant (A or B) a position serves
//! this session is derived here, from the session ID and the marking key's outer code, and
//! never appears in a URL, a playlist or the browser. The marking key itself is dropped
//! after start-up; only the code's subkey stays in memory.
//!
//! Segments are streamed from disk (range requests, `Last-Modified`, private caching), so
//! memory stays bounded by the connections in flight. Access is logged as JSON lines with
//! the session ID in place of the token. SIGTERM or SIGINT stops accepting connections and
//! lets the requests in flight finish.
//!
//! With `live` set, sessions opened as live sessions (`filigree session new --live`) are
//! rendered for their viewer as they watch instead ([`live`]): the marking key then stays in
//! the process, which renders every frame's mark. `/load` reports the live load.

pub mod edge;
mod error;
pub mod live;
mod log;
mod routes;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use filigree::Key;
use filigree::twostep::{Package, SessionCode};
use tokio::net::TcpListener;

pub use error::ServerError;
pub use live::LiveConfig;
pub use routes::router;

/// What the server serves and with which secrets.
pub struct Config {
    /// The two-step package's folder.
    pub package: PathBuf,
    /// The marking key the package was prepared with.
    pub key: Key,
    /// The key session tokens are signed with.
    pub token_key: Key,
    /// The ledger sessions were opened in (for the player's overlay label).
    pub ledger: Option<PathBuf>,
    /// The web player's folder (`player.html`, `player.js`, `player.css`, and
    /// `node_modules/hls.js/dist/hls.min.js`).
    pub web: PathBuf,
    /// Address and port to listen on.
    pub listen: SocketAddr,
    /// Render live sessions (needs `ledger`: their overlay and label are recorded there).
    pub live: Option<LiveConfig>,
}

/// Shared by every request.
pub struct AppState {
    package: Package,
    code: SessionCode,
    token_key: Key,
    ledger: Option<PathBuf>,
    web: PathBuf,
    log: Arc<log::AccessLog>,
    live: Option<live::Live>,
    /// What the ledger says each session is, looked up once per session.
    kinds: Mutex<HashMap<u32, routes::SessionKind>>,
}

/// The state for `config`: opens the package, checks the key against it and finds the
/// player's files. Errors are one line for the user.
pub fn state(config: &mut Config) -> Result<Arc<AppState>, ServerError> {
    let package = Package::open(&config.package)?;
    let code = package.session_code(&config.key)?;
    if config.token_key == config.key {
        return Err(ServerError::TokenKeyIsMarkingKey);
    }
    for file in routes::PLAYER_FILES {
        let path = config.web.join(file.1);
        if !path.is_file() {
            return Err(ServerError::PlayerFileMissing { path });
        }
    }
    let live = match config.live.take() {
        Some(_) if config.ledger.is_none() => {
            return Err(ServerError::LiveNeedsLedger);
        }
        Some(live) => Some(live::Live::start(live, &package, &config.key)?),
        None => None,
    };
    Ok(Arc::new(AppState {
        package,
        code,
        token_key: config.token_key.clone(),
        ledger: config.ledger.clone(),
        web: config.web.clone(),
        log: Arc::new(log::AccessLog::stdout()),
        live,
        kinds: Mutex::new(HashMap::new()),
    }))
}

/// Serves until SIGTERM or SIGINT, then drains the requests in flight. Prints the bound
/// address (`listening on http://...`) on stderr once it accepts connections.
pub fn run(mut config: Config) -> Result<(), ServerError> {
    let state = state(&mut config)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(ServerError::Runtime)?;
    runtime.block_on(async move {
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| ServerError::Listen {
                    address: config.listen,
                    source,
                })?;
        let address = listener.local_addr().map_err(ServerError::BoundAddress)?;
        // Handlers go in before the address is announced: a client told "listening" may
        // signal at once, and the default action would kill the server without draining.
        let shutdown = shutdown_signal();
        eprintln!("filigree: listening on http://{address}");
        if let Some(live) = &state.live {
            eprintln!("filigree: {}", live.describe());
            tokio::spawn(end_idle_sessions(state.clone()));
        }
        let served = axum::serve(listener, router(state.clone()))
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(ServerError::Serve);
        if let Some(live) = &state.live {
            live.end_all(&state.log);
        }
        served
    })
}

/// Ends idle live sessions, checking every second.
pub async fn end_idle_sessions(state: Arc<AppState>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        if let Some(live) = &state.live {
            live.end_idle(&state.log);
        }
    }
}

/// Installs the SIGTERM and SIGINT handlers now and returns a future that resolves on the
/// first of them. (Must be called inside the runtime.)
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let handlers = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    );
    async move {
        let (Ok(mut term), Ok(mut int)) = handlers else {
            // Without signal handlers the process still ends on the default action.
            return std::future::pending().await;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        eprintln!("filigree: shutting down, finishing the requests in flight");
    }
}
