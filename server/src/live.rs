//! Live sessions: each viewer's stream rendered while they watch (`filigree::live` renders,
//! this decides what and when).
//!
//! A live session gets a renderer thread when its player first asks for its stream. The
//! thread renders segments in order from where the player is, at most [`AHEAD`] segments
//! past the furthest one asked for, then sleeps until the player asks for more; a request
//! for a segment outside that window (a seek) moves the renderer there. A request waits for
//! its segment to be rendered. The session ends when the player says so (`POST .../end`,
//! sent as the page goes away) or when nothing has been fetched for the idle time: its
//! thread stops and its folder is deleted.
//!
//! Capacity is a number of sessions rendered at once: measured at start-up (one session's
//! speed against real time, three quarters of it kept as headroom) or given. The next
//! session beyond it is refused with 503 and `Retry-After`, never admitted to slow everyone
//! down.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use filigree::Key;
use filigree::ledger::LiveRender;
use filigree::live::{self, LiveSpec, LiveTiming, Renderer};
use filigree::marker::SharedMarkerFactory;
use filigree::overlay::{OverlayConfig, Position, SessionInfo};
use filigree::twostep::Package;
use filigree::video::ffmpeg::EncodeOptions;

use crate::error::ServerError;
use crate::log::AccessLog;

/// Segments rendered past the furthest one the player has asked for.
pub const AHEAD: u32 = 3;

/// How long a request waits for its segment before it is answered 503.
const SEGMENT_WAIT: Duration = Duration::from_secs(20);

/// Headroom kept when capacity is measured: sessions admitted = this share of one session's
/// speed in multiples of real time.
const CAPACITY_SHARE: f64 = 0.75;

/// Line height and opacity of the burned-in overlay: large and solid enough to be read
/// (and OCR'd) from a screen capture of a small rendition. Measured on 720p CRF 28 captures
/// of a 360p stream: at the file overlay's defaults (0.04, opacity 0.6) tesseract read none
/// of its text; at 0.06 and 0.85, label and session on 1 to 2 frames in 6; at these, 4 to 6.
const OVERLAY_SIZE: f32 = 0.075;
const OVERLAY_OPACITY: f32 = 0.95;

/// How `filigree serve` renders live sessions.
pub struct LiveConfig {
    /// The master the package was prepared from (checked against its SHA-256).
    pub master: PathBuf,
    /// Output height; `None` keeps the master's.
    pub height: Option<usize>,
    /// Sessions rendered at once; `None` measures it at start-up.
    pub capacity: Option<usize>,
    /// A session nothing was fetched from for this long is dropped.
    pub idle: Duration,
    /// A folder of the server's own for the sessions' segments (emptied at start-up:
    /// what a killed server left there is swept).
    pub work: PathBuf,
    /// Builds each render's marker (the GPU's where there is one), and says where it marks.
    pub marker: SharedMarkerFactory,
    /// Where marking runs, in words (`CPU`, `GPU <name>`), for the start-up line and status.
    pub marked_on: String,
    /// The encoder (see [`live::live_encoder`]).
    pub encode: EncodeOptions,
}

/// The live side of the server.
pub struct Live {
    master: PathBuf,
    key: Key,
    timing: LiveTiming,
    height: Option<usize>,
    encode: EncodeOptions,
    marker: SharedMarkerFactory,
    marked_on: String,
    capacity: usize,
    /// One session's rendering speed in multiples of real time, when measured.
    measured_speed: Option<f64>,
    idle: Duration,
    work: PathBuf,
    sessions: Mutex<HashMap<u32, Arc<Session>>>,
    rendered: Arc<AtomicU64>,
    refused: AtomicU64,
    started_sessions: AtomicU64,
}

/// Why a live request is not served.
pub enum Refusal {
    /// Every renderer is busy: try again after this many seconds.
    Busy(u64),
    /// The session's render failed (the reason is logged).
    Failed,
    /// The segment was not rendered in time.
    Slow,
    /// The session was ended (idle, or by request) while the request waited for it: 404.
    NotFound,
}

/// One session's renderer and what it has rendered.
pub struct Session {
    id: u32,
    dir: PathBuf,
    state: Mutex<RenderState>,
    /// Wakes the renderer thread (more wanted, a seek, the end).
    wake: Condvar,
    /// Counts segments rendered (and failures), for requests waiting on one.
    progress: tokio::sync::watch::Sender<u64>,
    last_seen: Mutex<Instant>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

#[derive(Default)]
struct RenderState {
    rendered: BTreeSet<u32>,
    /// The segment to render next: where the renderer is, or where a seek sends it.
    next: u32,
    /// The furthest segment asked for.
    wanted: u32,
    stop: bool,
    failed: Option<String>,
    /// Size and codecs of the rendered stream, once the first segment exists.
    stream: Option<((usize, usize), String, u64)>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A renderer thread that panicked leaves the state as it was: keep serving.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Live {
    /// Checks the master against `package`, sweeps the work folder and sets the capacity
    /// (measuring one session's speed unless it is given).
    pub fn start(config: LiveConfig, package: &Package, key: &Key) -> Result<Live, ServerError> {
        let manifest = package.manifest();
        sweep(&config.work)?;
        if master_sha256(&config.master, &config.work)? != manifest.source_sha256 {
            return Err(ServerError::NotTheMaster {
                master: config.master,
                package: package.root().to_path_buf(),
            });
        }
        let timing = LiveTiming::new(
            filigree::video::Rational::new(manifest.frame_rate_num, manifest.frame_rate_den),
            manifest.frames,
            live::SEGMENT_SECONDS,
        );
        let mut live = Live {
            master: config.master,
            key: key.clone(),
            timing,
            height: config.height,
            encode: config.encode,
            marker: config.marker,
            marked_on: config.marked_on,
            capacity: config.capacity.unwrap_or(0),
            measured_speed: None,
            idle: config.idle,
            work: config.work,
            sessions: Mutex::new(HashMap::new()),
            rendered: Arc::new(AtomicU64::new(0)),
            refused: AtomicU64::new(0),
            started_sessions: AtomicU64::new(0),
        };
        if config.capacity.is_none() {
            let speed = live.measure_speed()?;
            live.measured_speed = Some(speed);
            live.capacity = (speed * CAPACITY_SHARE).floor() as usize;
        }
        Ok(live)
    }

    /// Renders the title's first segments for a throwaway session and returns how many
    /// times faster than real time that went.
    fn measure_speed(&self) -> Result<f64, ServerError> {
        let dir = self.work.join("capacity-check");
        let spec = self.spec(
            0,
            None,
            &LiveRender {
                overlay: "{label} {session} {timecode}".into(),
                position: "bottom-right".into(),
            },
        );
        let started = Instant::now();
        let mut renderer = Renderer::open(spec, &dir, self.marker.clone(), 0)?;
        let mut seconds = 0.0;
        while seconds < 2.0 * live::SEGMENT_SECONDS {
            match renderer.render_next()? {
                Some(segment) => seconds += self.timing.seconds(segment),
                None => break,
            }
        }
        let wall = started.elapsed().as_secs_f64();
        let _ = std::fs::remove_dir_all(&dir);
        Ok(seconds / wall.max(1e-6))
    }

    fn spec(&self, session: u32, label: Option<String>, render: &LiveRender) -> LiveSpec {
        let position = Position::from_name(&render.position).unwrap_or(Position::BottomRight);
        LiveSpec {
            master: self.master.clone(),
            key: self.key.clone(),
            recipient: session,
            strength: 1.0,
            overlay: Some(OverlayConfig {
                template: render.overlay.clone(),
                size: OVERLAY_SIZE,
                opacity: OVERLAY_OPACITY,
                position,
                ..OverlayConfig::default()
            }),
            session: SessionInfo::new(session, label, format!("{session:08x}")),
            height: self.height,
            encode: self.encode.clone(),
            timing: self.timing,
        }
    }

    /// One line on how live sessions are rendered, for the operator.
    pub fn describe(&self) -> String {
        let size = match self.height {
            Some(h) => format!("{h}p"),
            None => "the master's size".into(),
        };
        let measured = match self.measured_speed {
            Some(speed) => format!(" (measured: one session renders at {speed:.1}x real time)"),
            None => String::new(),
        };
        // A machine too slow for one session in real time refuses them all; say so once
        // here rather than only in every viewer's 503.
        let refused = if self.capacity == 0 {
            ": every live session will be refused (a lower --live-height, a GPU or \
             --live-capacity changes that)"
        } else {
            ""
        };
        format!(
            "live sessions at {size}, {} encoding, marked on the {}; capacity {} at \
             once{measured}{refused}",
            self.encode.codec.encoder_name(),
            self.marked_on,
            self.capacity
        )
    }

    /// How the title is cut into live segments.
    pub fn timing(&self) -> &LiveTiming {
        &self.timing
    }

    /// The running session `id`, started (within capacity) if it is not running.
    pub fn session(
        &self,
        id: u32,
        label: Option<String>,
        render: &LiveRender,
        log: &Arc<AccessLog>,
    ) -> Result<Arc<Session>, Refusal> {
        let mut sessions = lock(&self.sessions);
        if let Some(session) = sessions.get(&id) {
            session.touch();
            return Ok(session.clone());
        }
        if sessions.len() >= self.capacity {
            self.refused.fetch_add(1, Ordering::Relaxed);
            // A session frees its renderer within the idle time at the latest.
            return Err(Refusal::Busy(self.idle.as_secs().clamp(5, 60)));
        }
        let dir = self.work.join(format!(
            "{id:08x}-{}",
            self.started_sessions.fetch_add(1, Ordering::Relaxed)
        ));
        let (progress, _) = tokio::sync::watch::channel(0);
        let session = Arc::new(Session {
            id,
            dir: dir.clone(),
            state: Mutex::new(RenderState::default()),
            wake: Condvar::new(),
            progress,
            last_seen: Mutex::new(Instant::now()),
            thread: Mutex::new(None),
        });
        let spec = self.spec(id, label, render);
        let (marker, rendered, log_for_thread) =
            (self.marker.clone(), self.rendered.clone(), log.clone());
        let worker = session.clone();
        let thread = std::thread::Builder::new()
            .name(format!("live-{id:08x}"))
            .spawn(move || worker.render(spec, marker, &rendered, &log_for_thread))
            .map_err(|_| Refusal::Busy(5))?;
        *lock(&session.thread) = Some(thread);
        log.event(serde_json::json!({
            "event": "live session started",
            "session": format!("{id:08x}"),
            "encoder": self.encode.codec.encoder_name(),
            "marked_on": self.marked_on,
            "height": self.height,
            "sessions": sessions.len() + 1,
            "capacity": self.capacity,
        }));
        sessions.insert(id, session.clone());
        Ok(session)
    }

    /// The running session `id`, if any.
    pub fn running(&self, id: u32) -> Option<Arc<Session>> {
        lock(&self.sessions).get(&id).cloned()
    }

    /// Ends session `id` (its renderer stops, its folder goes); false when it was not
    /// running.
    pub fn end(&self, id: u32, why: &str, log: &AccessLog) -> bool {
        let Some(session) = lock(&self.sessions).remove(&id) else {
            return false;
        };
        session.stop();
        log.event(serde_json::json!({
            "event": "live session ended",
            "session": format!("{id:08x}"),
            "why": why,
        }));
        true
    }

    /// Ends the sessions nothing was fetched from for the idle time.
    pub fn end_idle(&self, log: &AccessLog) {
        let idle: Vec<u32> = lock(&self.sessions)
            .values()
            .filter(|s| lock(&s.last_seen).elapsed() >= self.idle)
            .map(|s| s.id)
            .collect();
        for id in idle {
            self.end(id, "idle", log);
        }
    }

    /// Ends every session (the server is stopping).
    pub fn end_all(&self, log: &AccessLog) {
        let ids: Vec<u32> = lock(&self.sessions).keys().copied().collect();
        for id in ids {
            self.end(id, "server stopping", log);
        }
    }

    /// What `/load` reports of the live side.
    pub fn load(&self) -> serde_json::Value {
        let sessions = lock(&self.sessions).len();
        serde_json::json!({
            "sessions": sessions,
            "capacity": self.capacity,
            "free": self.capacity.saturating_sub(sessions),
            "load": if self.capacity > 0 { sessions as f64 / self.capacity as f64 } else { 1.0 },
            "measured_speed": self.measured_speed,
            "height": self.height,
            "encoder": self.encode.codec.encoder_name(),
            "marked_on": self.marked_on,
            "segments_rendered": self.rendered.load(Ordering::Relaxed),
            "sessions_refused": self.refused.load(Ordering::Relaxed),
        })
    }
}

impl Session {
    fn touch(&self) {
        *lock(&self.last_seen) = Instant::now();
    }

    /// The renderer thread: renders the wanted segments in order until told to stop.
    fn render(
        &self,
        spec: LiveSpec,
        marker: SharedMarkerFactory,
        rendered: &AtomicU64,
        log: &AccessLog,
    ) {
        let segments = spec.timing.segments();
        let fail = |why: String| {
            log.event(serde_json::json!({
                "event": "live render failed",
                "session": format!("{:08x}", self.id),
                "why": why,
            }));
            lock(&self.state).failed = Some(why);
            self.progress.send_modify(|n| *n += 1);
        };
        let mut renderer = match Renderer::open(spec, &self.dir, marker, 0) {
            Ok(renderer) => renderer,
            Err(e) => return fail(e.to_string()),
        };
        loop {
            // Wait until a wanted segment is within reach; seek when it is not where the
            // renderer is.
            let seek = {
                let mut state = lock(&self.state);
                loop {
                    if state.stop {
                        return;
                    }
                    let next = state.next;
                    if next < segments && next <= state.wanted + AHEAD {
                        if state.rendered.contains(&next) {
                            // Rendered by an earlier run: go on past it.
                            state.next += 1;
                            continue;
                        }
                        break (next != renderer.next_segment()).then_some(next);
                    }
                    state = self.wake.wait(state).unwrap_or_else(|e| e.into_inner());
                }
            };
            if let Some(Err(e)) = seek.map(|to| renderer.seek(to)) {
                return fail(e.to_string());
            }
            match renderer.render_next() {
                Ok(Some(segment)) => {
                    rendered.fetch_add(1, Ordering::Relaxed);
                    let mut state = lock(&self.state);
                    state.rendered.insert(segment);
                    if state.next == segment {
                        // (A seek meanwhile has moved `next` elsewhere.)
                        state.next = segment + 1;
                    }
                    if state.stream.is_none() {
                        let size = renderer.size();
                        let codecs = live::codecs(&self.dir).unwrap_or_default();
                        let bytes = std::fs::metadata(self.dir.join(live::segment_name(segment)))
                            .map_or(0, |m| m.len());
                        state.stream = Some((size, codecs, bytes));
                    }
                    drop(state);
                    self.progress.send_modify(|n| *n += 1);
                }
                Ok(None) => {
                    // The master ended before the title's stated length.
                    lock(&self.state).next = segments;
                }
                Err(e) => return fail(e.to_string()),
            }
        }
    }

    /// Asks for `segment` (moving the renderer there when it is outside the render window)
    /// and waits until it is rendered: its file, or why not.
    pub async fn segment(&self, segment: u32) -> Result<PathBuf, Refusal> {
        self.touch();
        let mut progress = self.progress.subscribe();
        {
            let mut state = lock(&self.state);
            if state.rendered.contains(&segment) {
                return Ok(self.dir.join(live::segment_name(segment)));
            }
            state.wanted = state.wanted.max(segment);
            if segment < state.next || segment > state.next + AHEAD {
                // A seek: the renderer goes there, and renders on from there.
                state.next = segment;
                state.wanted = segment;
            }
            self.wake.notify_all();
        }
        self.wait_for(&mut progress, |state| {
            state
                .rendered
                .contains(&segment)
                .then(|| self.dir.join(live::segment_name(segment)))
        })
        .await
    }

    /// The initialisation segment and the stream's size, codecs and first segment's size,
    /// once the first segment is rendered.
    pub async fn stream(&self) -> Result<(PathBuf, (usize, usize), String, u64), Refusal> {
        self.touch();
        let mut progress = self.progress.subscribe();
        self.wake.notify_all();
        self.wait_for(&mut progress, |state| {
            state
                .stream
                .clone()
                .map(|(size, codecs, bytes)| (self.dir.join(live::INIT), size, codecs, bytes))
        })
        .await
    }

    async fn wait_for<T>(
        &self,
        progress: &mut tokio::sync::watch::Receiver<u64>,
        ready: impl Fn(&RenderState) -> Option<T>,
    ) -> Result<T, Refusal> {
        let deadline = tokio::time::Instant::now() + SEGMENT_WAIT;
        loop {
            {
                let state = lock(&self.state);
                if let Some(value) = ready(&state) {
                    return Ok(value);
                }
                if state.failed.is_some() {
                    return Err(Refusal::Failed);
                }
                if state.stop {
                    return Err(Refusal::NotFound);
                }
            }
            match tokio::time::timeout_at(deadline, progress.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => return Err(Refusal::Slow),
            }
        }
    }

    /// Stops the renderer and deletes the session's folder (on a thread of its own: the
    /// segment being rendered is finished first).
    fn stop(self: &Arc<Self>) {
        lock(&self.state).stop = true;
        self.wake.notify_all();
        self.progress.send_modify(|n| *n += 1);
        let session = self.clone();
        std::thread::spawn(move || {
            if let Some(thread) = lock(&session.thread).take() {
                let _ = thread.join();
            }
            let _ = std::fs::remove_dir_all(&session.dir);
        });
    }
}

/// The record of the master's SHA-256 in the work folder (kept by `sweep`).
const MASTER_RECORD: &str = "master-sha256.json";

/// The master's SHA-256: read from the work folder's record when that names this very file
/// (same path, length and modification time, as make and rsync judge a file unchanged),
/// else hashed and recorded. A feature master is a hundred gigabytes or more: hashing it
/// at every start-up would take minutes.
fn master_sha256(master: &Path, work: &Path) -> Result<String, ServerError> {
    let unreadable = |source| ServerError::MasterUnreadable {
        path: master.to_path_buf(),
        source,
    };
    let hash = || -> Result<String, ServerError> { Ok(filigree::digest::sha256_file(master)?) };
    let meta = std::fs::metadata(master).map_err(unreadable)?;
    // Without a modification time there is nothing to judge a record by: hash every time.
    let Some(modified) = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
    else {
        return hash();
    };
    let path = std::fs::canonicalize(master).map_err(unreadable)?;
    let stamp = serde_json::json!({
        "path": path.to_string_lossy(),
        "bytes": meta.len(),
        "modified_ns": modified.as_nanos().to_string(),
    });
    let record = work.join(MASTER_RECORD);
    if let Some(sha) = std::fs::read(&record)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .filter(|recorded| recorded["file"] == stamp)
        .and_then(|recorded| recorded["sha256"].as_str().map(str::to_owned))
    {
        return Ok(sha);
    }
    let sha = hash()?;
    // Written beside and renamed: a killed server leaves the old record or the new one. A
    // record that cannot be written only costs the next start-up the hash again.
    let temporary = work.join(format!("{MASTER_RECORD}.tmp"));
    let text = serde_json::json!({ "file": stamp, "sha256": sha }).to_string();
    if std::fs::write(&temporary, text).is_ok() {
        let _ = std::fs::rename(&temporary, &record);
    }
    Ok(sha)
}

/// Creates the work folder, or empties one a killed server left behind (only the
/// session folders this server makes, `<8 hex>-<n>` and `capacity-check`).
fn sweep(work: &Path) -> Result<(), ServerError> {
    let folder = |action| {
        move |source| ServerError::WorkFolder {
            action,
            path: work.to_path_buf(),
            source,
        }
    };
    std::fs::create_dir_all(work).map_err(folder("create"))?;
    let entries = std::fs::read_dir(work).map_err(folder("read"))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let ours = name == "capacity-check"
            || name.split_once('-').is_some_and(|(id, n)| {
                id.len() == 8
                    && id.bytes().all(|b| b.is_ascii_hexdigit())
                    && n.bytes().all(|b| b.is_ascii_digit())
            });
        if ours {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_master_is_hashed_once_until_the_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        let master = dir.path().join("master.mov");
        std::fs::write(&master, b"a master").unwrap();
        let work = dir.path().join("work");
        sweep(&work).unwrap();
        let sha = master_sha256(&master, &work).unwrap();
        assert_eq!(sha, filigree::digest::sha256_file(&master).unwrap());

        // The next start-up reads the record (kept by the sweep): a planted hash is what
        // comes back, so the file was not hashed again.
        let record = work.join(MASTER_RECORD);
        let planted = "0".repeat(64);
        let text = std::fs::read_to_string(&record).unwrap();
        std::fs::write(&record, text.replace(&sha, &planted)).unwrap();
        sweep(&work).unwrap();
        assert_eq!(master_sha256(&master, &work).unwrap(), planted);

        // Another file at that path, or a damaged record: hashed again.
        std::fs::write(&master, b"another master").unwrap();
        let other = filigree::digest::sha256_file(&master).unwrap();
        assert_eq!(master_sha256(&master, &work).unwrap(), other);
        std::fs::write(&record, b"{").unwrap();
        assert_eq!(master_sha256(&master, &work).unwrap(), other);
        assert!(!work.join(format!("{MASTER_RECORD}.tmp")).exists());
    }
}
