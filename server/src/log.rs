//! The access log: one JSON object per request on stdout, with the session ID in place
//! of the token (a token is a bearer credential: it stays out of logs).

use std::io::Write;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

pub struct AccessLog {
    out: Mutex<Box<dyn Write + Send>>,
}

/// One request as logged.
pub struct Entry<'a> {
    pub method: &'a str,
    /// The path with any token replaced by `<session>`.
    pub path: &'a str,
    pub session: Option<u32>,
    pub status: u16,
    pub micros: u128,
}

impl AccessLog {
    pub fn stdout() -> AccessLog {
        AccessLog {
            out: Mutex::new(Box::new(std::io::stdout())),
        }
    }

    pub fn write(&self, entry: &Entry) {
        let time = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let line = serde_json::json!({
            "time": time,
            "method": entry.method,
            "path": entry.path,
            "session": entry.session.map(|s| format!("{s:08x}")),
            "status": entry.status,
            "micros": entry.micros,
        });
        // A full or closed stdout must not take the server down: the line is dropped.
        if let Ok(mut out) = self.out.lock() {
            let _ = writeln!(out, "{line}");
        }
    }
}
