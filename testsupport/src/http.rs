//! The servers under test seen from outside: HTTP/1.1 over a plain socket, and the web
//! player in a browser.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// One `method path` request with an empty body, the connection closed after it: the
/// response's status, its head in lowercase (status line and headers) and its body.
pub fn http(address: SocketAddr, method: &str, path: &str) -> (u16, String, Vec<u8>) {
    http_with(address, method, path, &[])
}

/// [`http`] with extra request header lines (`"Range: bytes=0-99"`).
pub fn http_with(
    address: SocketAddr,
    method: &str,
    path: &str,
    headers: &[&str],
) -> (u16, String, Vec<u8>) {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let extra: String = headers.iter().map(|h| format!("{h}\r\n")).collect();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: test\r\n{extra}Content-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("{method} {path}: no complete response"));
    let head = String::from_utf8_lossy(&response[..split]).to_lowercase();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("{method} {path}: no status in {head:?}"));
    (status, head, response[split + 4..].to_vec())
}

/// The web player (`server/web/tests/play.mjs`, run by node in headless Chromium) set to
/// play `url` and keep what it fetches under `played`; the caller adds options and runs it.
pub fn player(url: &str, played: &Path) -> Command {
    let mut command = Command::new("node");
    command
        .arg(crate::repo().join("server/web/tests/play.mjs"))
        .arg(url)
        .arg(played);
    command
}

/// The segments the browser fetched (`player`'s OUTDIR), joined in fetch order behind their
/// rendition's initialisation segment, for the rendition it played longest: the stream
/// the viewer saw, as a file.
pub fn fetched_stream(dir: &Path) -> PathBuf {
    let mut renditions: std::collections::BTreeMap<String, (Vec<u8>, Vec<u8>, usize)> =
        Default::default();
    for (url, bytes) in fetched_files(dir) {
        let mut parts = url.rsplit('/');
        let (name, rendition) = (parts.next().unwrap(), parts.next().unwrap());
        let entry = renditions.entry(rendition.to_string()).or_default();
        if name == "init.mp4" {
            entry.0 = bytes;
        } else {
            entry.1.extend_from_slice(&bytes);
            entry.2 += 1;
        }
    }
    let (name, (init, segments, count)) = renditions
        .into_iter()
        .filter(|(_, r)| !r.0.is_empty())
        .max_by_key(|(_, r)| r.2)
        .expect("a rendition with its init segment was fetched");
    eprintln!("browser played {count} segments of {name}");
    let path = dir.join("played.mp4");
    std::fs::write(&path, [init, segments].concat()).unwrap();
    path
}

/// What the player fetched into `dir` (`player`'s OUTDIR): each media response's URL and
/// bytes, in fetch order.
pub fn fetched_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let text = std::fs::read_to_string(dir.join("fetched.json")).unwrap();
    let fetched: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    fetched
        .iter()
        .map(|item| {
            let bytes = std::fs::read(dir.join(item["file"].as_str().unwrap())).unwrap();
            (item["url"].as_str().unwrap().to_string(), bytes)
        })
        .collect()
}
