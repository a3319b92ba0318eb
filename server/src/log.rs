//! The access log: one JSON object per request (and per server event) on stdout, with the
//! session ID in place of the token (a token is a bearer credential: it stays out of logs).

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
        let line = serde_json::json!({
            "time": now(),
            "method": entry.method,
            "path": entry.path,
            "session": entry.session.map(|s| format!("{s:08x}")),
            "status": entry.status,
            "micros": entry.micros,
        });
        self.line(&line);
    }

    /// A server event (a live session started or ended, the encoder it renders with) as one
    /// JSON line: `fields` with the time added. Like requests, never with a token or key.
    pub fn event(&self, mut fields: serde_json::Value) {
        if let Some(object) = fields.as_object_mut() {
            object.insert("time".into(), serde_json::json!(now()));
        }
        self.line(&fields);
    }

    fn line(&self, line: &serde_json::Value) {
        // A full or closed stdout must not take the server down: the line is dropped.
        if let Ok(mut out) = self.out.lock() {
            let _ = writeln!(out, "{line}");
        }
    }
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}
