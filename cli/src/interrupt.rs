//! SIGINT and SIGTERM during `embed` and `screen`. The embed stops at the next frame and its
//! temporary output is removed as on any failure; the process then exits with 128 + the
//! signal's number (130, 143) and one line on stderr. Should the embed not stop within
//! [`GRACE`] (a stalled pipe), or a second signal arrive, the temporary output is removed
//! here and the process exits at once.
//!
//! A signal that arrives after the output was committed lets the command finish (its ledger
//! entry included): the copy is complete, so there is nothing to undo.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use filigree::pipeline::STDIO;
use filigree::video::temp;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::{Handle, Signals};

use crate::Failure;

/// How long an interrupted embed may take to stop on its own.
const GRACE: Duration = Duration::from_secs(3);

#[derive(Default)]
struct State {
    /// Tells the pipeline to stop.
    cancel: AtomicBool,
    /// The signal received, 0 before any.
    signal: AtomicI32,
    /// The pipeline is running (its temporary output may exist).
    embedding: AtomicBool,
}

/// Signal handling for one embed; restores nothing on drop (the process is about to end).
pub(crate) struct Interrupt {
    state: Arc<State>,
    handle: Handle,
    watcher: Option<JoinHandle<()>>,
    /// What the one line on stderr says was not written.
    output: String,
}

impl Interrupt {
    /// Starts catching SIGINT and SIGTERM for an embed into `output`.
    pub(crate) fn install(output: &Path) -> Result<Interrupt, Failure> {
        let mut signals = Signals::new([SIGINT, SIGTERM])
            .map_err(|e| Failure(format!("cannot install signal handlers: {e}")))?;
        let handle = signals.handle();
        let state = Arc::new(State {
            embedding: AtomicBool::new(true),
            ..State::default()
        });
        let output = match output == Path::new(STDIO) {
            true => "the y4m stream on stdout is incomplete".to_string(),
            false => format!("{} was not written", output.display()),
        };
        let watcher = {
            let (state, output) = (Arc::clone(&state), output.clone());
            thread::spawn(move || {
                // `None` once the handle is closed: the command finished without a signal.
                let Some(signal) = signals.forever().next() else {
                    return;
                };
                state.signal.store(signal, Ordering::SeqCst);
                state.cancel.store(true, Ordering::SeqCst);
                let deadline = Instant::now() + GRACE;
                while state.embedding.load(Ordering::SeqCst) {
                    let again = signals.pending().next().is_some();
                    if again || Instant::now() >= deadline {
                        temp::remove_unfinished();
                        eprintln!("filigree: {}; {output}", describe(signal));
                        std::process::exit(128 + signal);
                    }
                    thread::sleep(Duration::from_millis(20));
                }
            })
        };
        Ok(Interrupt {
            state,
            handle,
            watcher: Some(watcher),
            output,
        })
    }

    /// The flag the pipeline watches ([`filigree::pipeline::EmbedJob::cancel`]).
    pub(crate) fn cancel_flag(&self) -> &AtomicBool {
        &self.state.cancel
    }

    /// The pipeline has returned: a signal from now on lets the command finish.
    pub(crate) fn embed_done(&self) {
        self.state.embedding.store(false, Ordering::SeqCst);
    }

    /// Reports an embed the signal stopped; the exit code is 128 + the signal's number.
    pub(crate) fn stopped(&self) -> ExitCode {
        let signal = self.state.signal.load(Ordering::SeqCst);
        eprintln!("filigree: {}; {}", describe(signal), self.output);
        ExitCode::from(u8::try_from(128 + signal).unwrap_or(130))
    }
}

impl Drop for Interrupt {
    fn drop(&mut self) {
        self.embed_done();
        self.handle.close();
        if let Some(watcher) = self.watcher.take() {
            let _ = watcher.join();
        }
    }
}

fn describe(signal: i32) -> &'static str {
    match signal {
        SIGINT => "interrupted by SIGINT",
        SIGTERM => "terminated by SIGTERM",
        _ => "stopped by a signal",
    }
}
