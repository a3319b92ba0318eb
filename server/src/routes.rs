//! Request routing: the player's files, the session's playlists and segments (two-step
//! or live), the live load.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use filigree::ledger::LiveRender;
use filigree::twostep::Rendition;
use filigree::twostep::package::segment_name;
use filigree::twostep::session::{SessionClaims, unix_now, verify};
use tower::ServiceExt;
use tower_http::services::ServeFile;

use crate::AppState;
use crate::live::{Live, Refusal};
use crate::log::Entry;

/// The player's files: URL name and path inside the web folder.
pub(crate) const PLAYER_FILES: [(&str, &str); 5] = [
    ("player.html", "player.html"),
    ("player.js", "player.js"),
    ("player.css", "player.css"),
    ("hls.min.js", "node_modules/hls.js/dist/hls.min.js"),
    (
        "dash.all.min.js",
        "node_modules/dashjs/dist/modern/umd/dash.all.min.js",
    ),
];

const PLAYLIST: &str = "application/vnd.apple.mpegurl";

/// How long a ledger lookup that found no entry stands before it is tried again (the
/// session may be opened after its first request).
const UNKNOWN_SESSION_RECHECK: Duration = Duration::from_secs(10);

/// What the ledger says a session is.
#[derive(Clone)]
pub(crate) enum SessionKind {
    TwoStep,
    Live {
        label: Option<String>,
        render: LiveRender,
    },
    /// No entry (or no ledger): served as two-step, looked up again after a while.
    Unknown(Instant),
}

/// The server's routes over `state`.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new().fallback(handle).with_state(state)
}

async fn handle(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let ends_session = method == Method::POST && path.ends_with("/end");
    let (response, session, logged_path) =
        if method == Method::GET || method == Method::HEAD || ends_session {
            route(&state, &path, request).await
        } else {
            (status(StatusCode::METHOD_NOT_ALLOWED), None, redact(&path))
        };
    let mut response = response;
    let headers = response.headers_mut();
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    state.log.write(&Entry {
        method: method.as_str(),
        path: &logged_path,
        session,
        status: response.status().as_u16(),
        micros: started.elapsed().as_micros(),
    });
    response
}

/// The response, the session it was for, and the path as logged.
async fn route(state: &AppState, path: &str, request: Request) -> (Response, Option<u32>, String) {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        ["healthz"] => (
            (StatusCode::OK, "ok\n").into_response(),
            None,
            path.to_string(),
        ),
        ["load"] => (load(state), None, path.to_string()),
        ["player", name] => {
            let file = PLAYER_FILES
                .iter()
                .find(|(url, _)| url == name && *url != "player.html");
            let response = match file {
                Some((_, relative)) => {
                    let response = serve_file(state.web.join(relative), request).await;
                    cache(response, "public, max-age=300")
                }
                None => status(StatusCode::NOT_FOUND),
            };
            (response, None, path.to_string())
        }
        ["play", token] => match claims(state, token) {
            Ok(claims) => {
                let response = serve_file(state.web.join("player.html"), request).await;
                (
                    cache(response, "private, no-store"),
                    Some(claims.session),
                    redact(path),
                )
            }
            Err(why) => (forbidden(&why), None, redact(path)),
        },
        ["s", token, rest @ ..] if !token.is_empty() => match claims(state, token) {
            Ok(claims) => {
                let response = session_resource(state, &claims, rest, request).await;
                (response, Some(claims.session), redact(path))
            }
            Err(why) => (forbidden(&why), None, redact(path)),
        },
        ["s", ..] => (status(StatusCode::FORBIDDEN), None, path.to_string()),
        _ => (status(StatusCode::NOT_FOUND), None, path.to_string()),
    }
}

/// A verified token's claims, or why it is refused (answered 403).
fn claims(state: &AppState, token: &str) -> Result<SessionClaims, String> {
    match verify(&state.token_key, token, unix_now()) {
        Ok(claims) if claims.title_id == state.package.manifest().title_id => Ok(claims),
        Ok(_) => Err("token is for another title".into()),
        Err(why) => Err(why.to_string()),
    }
}

/// What the ledger says session `claims.session` is (cached per session).
fn session_kind(state: &AppState, claims: &SessionClaims) -> SessionKind {
    let Some(ledger) = &state.ledger else {
        return SessionKind::TwoStep;
    };
    if let Some(kind) = state
        .kinds
        .lock()
        .ok()
        .and_then(|k| k.get(&claims.session).cloned())
    {
        match kind {
            SessionKind::Unknown(at) if at.elapsed() >= UNKNOWN_SESSION_RECHECK => {}
            kind => return kind,
        }
    }
    let fingerprint = &state.package.manifest().key_fingerprint;
    let kind = match filigree::ledger::find_session(
        ledger,
        claims.title_id,
        claims.session,
        fingerprint,
    ) {
        Ok(Some(entry)) => match entry.live() {
            Some((_, render)) => SessionKind::Live {
                render: render.clone(),
                label: entry.label.clone(),
            },
            None => SessionKind::TwoStep,
        },
        Ok(None) | Err(_) => SessionKind::Unknown(Instant::now()),
    };
    if let Ok(mut kinds) = state.kinds.lock() {
        kinds.insert(claims.session, kind.clone());
    }
    kind
}

/// What a session's URL under `/s/{token}/` names.
async fn session_resource(
    state: &AppState,
    claims: &SessionClaims,
    rest: &[&str],
    request: Request,
) -> Response {
    let ends = request.method() == Method::POST;
    match session_kind(state, claims) {
        SessionKind::Live { label, render } => {
            return match &state.live {
                Some(live) => {
                    live_resource(state, live, claims, label, &render, rest, request).await
                }
                None => not_here("this server renders no live sessions"),
            };
        }
        _ if ends => return status(StatusCode::NOT_FOUND),
        _ => {}
    }
    let package = &state.package;
    match rest {
        ["session.json"] => session_json(state, claims, false),
        ["master.m3u8"] => {
            playlist(package.master_playlist(|r| format!("{}.m3u8", r.name), "audio.m3u8"))
        }
        ["audio.m3u8"] | ["audio", _] => audio_resource(state, rest, request).await,
        [name] if name.ends_with(".m3u8") => {
            let rendition = name.trim_end_matches(".m3u8");
            match package.rendition(rendition) {
                Some(r) => playlist(
                    package.media_playlist(&format!("{}/init.mp4", r.name), |p| {
                        format!("{}/{}", r.name, segment_name(p))
                    }),
                ),
                None => status(StatusCode::NOT_FOUND),
            }
        }
        [rendition, file] if package.rendition(rendition).is_some() => {
            let Some(path) = media_path(state, claims.session, rendition, file) else {
                return status(StatusCode::NOT_FOUND);
            };
            cache(serve_file(path, request).await, "private, max-age=86400")
        }
        _ => status(StatusCode::NOT_FOUND),
    }
}

/// The package's audio rendition, which two-step and live sessions share.
async fn audio_resource(state: &AppState, rest: &[&str], request: Request) -> Response {
    let package = &state.package;
    match rest {
        ["audio.m3u8"] => {
            let segment = |i| format!("audio/{}", segment_name(i));
            match package.audio_playlist("audio/init.mp4", segment) {
                Some(text) => playlist(text),
                None => status(StatusCode::NOT_FOUND),
            }
        }
        ["audio", file] => {
            let path = match *file {
                "init.mp4" if package.manifest().audio.is_some() => Some(package.audio_init_path()),
                _ => position_of(file).and_then(|i| package.audio_segment_path(i)),
            };
            match path {
                Some(path) => cache(serve_file(path, request).await, "private, max-age=86400"),
                None => status(StatusCode::NOT_FOUND),
            }
        }
        _ => status(StatusCode::NOT_FOUND),
    }
}

/// What a live session's URL names: its stream, rendered as it is asked for, and its end.
async fn live_resource(
    state: &AppState,
    live: &Live,
    claims: &SessionClaims,
    label: Option<String>,
    render: &LiveRender,
    rest: &[&str],
    request: Request,
) -> Response {
    let id = claims.session;
    if request.method() == Method::POST {
        return match rest {
            ["end"] => {
                live.end(id, "ended by the player", &state.log);
                StatusCode::NO_CONTENT.into_response()
            }
            _ => status(StatusCode::NOT_FOUND),
        };
    }
    let segment = match rest {
        ["session.json"] => return session_json(state, claims, true),
        ["audio.m3u8"] | ["audio", _] => return audio_resource(state, rest, request).await,
        ["master.m3u8"] | ["live.m3u8"] | ["live", "init.mp4"] => None,
        ["live", file] => match position_of(file).filter(|&s| s < live.timing().segments()) {
            Some(segment) => Some(segment),
            None => return status(StatusCode::NOT_FOUND),
        },
        _ => return status(StatusCode::NOT_FOUND),
    };
    // Everything else plays the stream: the session's renderer runs (or is refused).
    let session = match live.session(id, label, render, &state.log) {
        Ok(session) => session,
        Err(refusal) => return refused(refusal),
    };
    match (rest, segment) {
        (["master.m3u8"], _) => match session.stream().await {
            Ok((_, (width, height), codecs, bytes)) => {
                let timing = live.timing();
                let average = (bytes as f64 * 8.0 / timing.seconds(0).max(1e-3)) as u64;
                let rendition = Rendition {
                    name: "live".into(),
                    width,
                    height,
                    // One segment's rate, with room for busier scenes.
                    peak_bandwidth: 2 * average,
                    average_bandwidth: average,
                    codecs,
                };
                let streams = [("live.m3u8".to_string(), &rendition)];
                no_store(playlist(
                    state.package.master_playlist_of(&streams, "audio.m3u8"),
                ))
            }
            Err(refusal) => refused(refusal),
        },
        (["live.m3u8"], _) => no_store(playlist(
            live.timing().media_playlist("live/init.mp4", |i| {
                format!("live/{}", filigree::live::segment_name(i))
            }),
        )),
        (["live", "init.mp4"], _) => match session.stream().await {
            Ok((path, ..)) => no_store(serve_file(path, request).await),
            Err(refusal) => refused(refusal),
        },
        (_, Some(segment)) => match session.segment(segment).await {
            Ok(path) => no_store(serve_file(path, request).await),
            Err(refusal) => refused(refusal),
        },
        _ => status(StatusCode::NOT_FOUND),
    }
}

/// The answer to a live request that cannot be served.
fn refused(refusal: Refusal) -> Response {
    let (code, retry, text) = match refusal {
        Refusal::Busy(after) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Some(after),
            format!("every live renderer is busy: try again in {after} s\n"),
        ),
        Refusal::Slow => (
            StatusCode::SERVICE_UNAVAILABLE,
            Some(2),
            "the segment is not rendered yet: try again\n".to_string(),
        ),
        Refusal::Failed => (
            StatusCode::INTERNAL_SERVER_ERROR,
            None,
            "the live render of this session failed\n".to_string(),
        ),
        Refusal::NotFound => (StatusCode::NOT_FOUND, None, "Not Found\n".to_string()),
    };
    let mut response = (code, text).into_response();
    if let Some(after) = retry {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(after));
    }
    response
}

/// The server's load: the live sessions against capacity (`null` without live mode).
fn load(state: &AppState) -> Response {
    let body = serde_json::json!({
        "live": state.live.as_ref().map(Live::load),
    });
    no_store(
        (
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response(),
    )
}

/// The package file behind `<rendition>/<file>` for this session: the initialisation
/// segment, or the variant of the position that the session's codeword names.
fn media_path(state: &AppState, session: u32, rendition: &str, file: &str) -> Option<PathBuf> {
    let package = &state.package;
    if file == "init.mp4" {
        return Some(package.init_path(filigree::twostep::Variant::A, rendition));
    }
    let position = position_of(file)?;
    if position >= package.manifest().positions() {
        return None;
    }
    let variant = state.code.variant(session, position);
    Some(package.segment_path(variant, rendition, position))
}

/// The index in a segment file name (`000042.m4s`).
fn position_of(file: &str) -> Option<u32> {
    let digits = file.strip_suffix(".m4s")?;
    if digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The session's public details, for the player's overlay (a live session's overlay is in
/// the video itself).
fn session_json(state: &AppState, claims: &SessionClaims, live: bool) -> Response {
    let fingerprint = &state.package.manifest().key_fingerprint;
    let entry = state.ledger.as_ref().and_then(|ledger| {
        filigree::ledger::find_session(ledger, claims.title_id, claims.session, fingerprint)
            .ok()
            .flatten()
    });
    let body = serde_json::json!({
        "session": format!("{:08x}", claims.session),
        "title_id": claims.title_id,
        "label": entry.as_ref().and_then(|e| e.label.clone()),
        "expires": entry.and_then(|e| e.session).and_then(|s| s.expires),
        "live": live,
    });
    let mut response = (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    response
}

fn playlist(text: String) -> Response {
    let response = ([(header::CONTENT_TYPE, PLAYLIST)], text).into_response();
    cache(response, "private, max-age=60")
}

/// Streams a file (ranges, `Last-Modified`, `HEAD`); 404 when it is missing.
async fn serve_file(path: PathBuf, request: Request) -> Response {
    match ServeFile::new(path).oneshot(request).await {
        Ok(response) => response.map(Body::new),
        Err(never) => match never {},
    }
}

fn cache(mut response: Response, policy: &'static str) -> Response {
    if response.status().is_success() {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    response
}

fn status(code: StatusCode) -> Response {
    (code, format!("{}\n", code.canonical_reason().unwrap_or(""))).into_response()
}

fn no_store(response: Response) -> Response {
    cache(response, "private, no-store")
}

fn not_here(why: &str) -> Response {
    (StatusCode::NOT_FOUND, format!("not found: {why}\n")).into_response()
}

fn forbidden(why: &str) -> Response {
    (StatusCode::FORBIDDEN, format!("forbidden: {why}\n")).into_response()
}

/// `path` with the token (the component after `/s/` or `/play/`) replaced.
fn redact(path: &str) -> String {
    let mut parts: Vec<&str> = path.split('/').collect();
    if parts.len() > 2 && (parts[1] == "s" || parts[1] == "play") {
        parts[2] = "<token>";
    }
    parts.join("/")
}
