//! The A/B edge (`filigree edge`: nginx with njs) end to end on real footage: for many
//! sessions it serves, from a CDN token alone, byte for byte what `filigree serve` serves
//! the same session (byte ranges too); what FFmpeg's HLS and DASH clients and dash.js in
//! Chromium fetch through it detects to the session after a 720p CRF 28 re-encode; hls.js
//! plays through it the session's own variants, and dash.js a title with 5.1 audio; forged, expired,
//! truncated, other-title and short-pattern tokens get 403, and no token or key reaches
//! its logs.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::start;
use filigree::Key;
use filigree::twostep::cwt::{self, EdgeClaims, EdgeKeys};
use filigree::twostep::prepare::{PreparePlan, prepare};
use filigree::twostep::session::{SessionClaims, issue, open_session, unix_now};
use filigree::twostep::{Package, Variant};
use filigree_server::edge::{DEBIAN_NJS_MODULE, EdgeConfig};
use filigree_testsupport::{
    fetched_files, fetched_stream, ffmpeg, http, http_with, leak_720p, p, player, repo, title,
};

/// nginx running an edge folder in the foreground; stopped (and reaped) on drop.
struct Edge {
    child: Child,
    address: SocketAddr,
    dir: PathBuf,
}

impl Edge {
    /// Writes an edge for `packages` into `dir` and starts nginx on it.
    fn start(dir: &Path, packages: &[&Path], token_key: &Key) -> Edge {
        // A free port: bound, read, released (nginx binds it a moment later).
        let address = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        filigree_server::edge::write(
            dir,
            &EdgeConfig {
                packages: packages.iter().map(|p| p.to_path_buf()).collect(),
                web: repo().join("server/web"),
                listen: address.to_string(),
                keys: EdgeKeys::of(token_key),
                njs_module: DEBIAN_NJS_MODULE.into(),
            },
        )
        .unwrap();
        // As root, nginx's workers would become `nobody`, who cannot read a private
        // temporary folder.
        let root = Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
        let globals = if root {
            "daemon off; user root;"
        } else {
            "daemon off;"
        };
        let nginx = ["/usr/sbin/nginx", "nginx"]
            .into_iter()
            .find(|n| Path::new(n).is_file())
            .unwrap_or("nginx");
        let child = Command::new(nginx)
            .args(["-p", p(dir), "-c", "nginx.conf", "-g", globals])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx runs (scripts/setup-debian installs nginx and libnginx-mod-http-js)");
        let started = Instant::now();
        while http_status(address, "/healthz") != Some(200) {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the edge did not start: {}",
                std::fs::read_to_string(dir.join("logs/error.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Edge {
            child,
            address,
            dir: dir.to_path_buf(),
        }
    }

    /// Stops nginx and returns what its access and error logs hold.
    fn stop(mut self) -> String {
        let _ = Command::new("kill")
            .args(["-QUIT", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        ["logs/access.log", "logs/error.log"]
            .iter()
            .map(|log| std::fs::read_to_string(self.dir.join(log)).unwrap_or_default())
            .collect()
    }
}

impl Drop for Edge {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn http_status(address: SocketAddr, path: &str) -> Option<u16> {
    std::net::TcpStream::connect(address).ok()?;
    Some(http(address, "GET", path).0)
}

/// The body at `path`, which must answer 200.
fn body(address: SocketAddr, path: &str) -> Vec<u8> {
    let (status, head, body) = http(address, "GET", path);
    assert_eq!(status, 200, "{path}: {head}");
    body
}

/// The session detected in `capture` after a 720p CRF 28 re-encode.
fn detected(capture: &Path, key: &Key) -> Option<(u16, u32)> {
    let leak = capture.with_extension("leak.mp4");
    leak_720p(capture, &leak);
    let found = filigree::pipeline::detect_file(
        &leak,
        key,
        &filigree::pipeline::ReadPlan::fast(None),
        &mut |_, _| {},
    )
    .unwrap();
    let two_step = found.two_step?;
    if let Some(title) = two_step.titles.first() {
        eprintln!(
            "{}: {} positions read, {:?} after {:?} s, FP {:?}",
            capture.display(),
            title.positions.len(),
            title.session,
            title.seconds_needed,
            title.false_positive_probability
        );
    }
    two_step.session()
}

#[test]
fn an_edge_serves_each_session_the_servers_bytes_and_its_captures_name_the_session() {
    let dir = tempfile::tempdir().unwrap();
    // Title 5: 60 s of the two shared 360p clips at 0.5 s positions (120), two renditions
    // (a session of a 40 s title is named only after 32-37.5 s of its 39.4 s leak: too
    // little margin for a test);
    // title 6 (for tokens replayed on another title, and DASH with audio): the 5 s clip
    // with 5.1 sound, one rendition.
    let master = dir.path().join("title.mp4");
    let (tos, cam) = ("tos_360p24_10s.mp4", "caminandes_360p24_10s.mp4");
    title(&master, &[tos, cam, tos, cam, tos, cam]);
    let key = Key::from_bytes([61; 32]);
    let token_key = Key::from_bytes([62; 32]);
    let plan = |title_id, ladder: Vec<usize>| PreparePlan {
        title_id,
        position_seconds: 0.5,
        ladder,
        crf: 23,
        preset: "veryfast".into(),
        strength: 1.0,
    };
    let package_dir = dir.path().join("package");
    prepare(
        &master,
        &package_dir,
        &key,
        &plan(5, vec![360, 240]),
        None,
        &mut |_, _| {},
    )
    .unwrap();
    let other_dir = dir.path().join("other");
    let other_master = filigree_testsupport::testdata("bbb_720p25_5s.mp4");
    prepare(
        &other_master,
        &other_dir,
        &key,
        &plan(6, vec![240]),
        None,
        &mut |_, _| {},
    )
    .unwrap();
    let package = Package::open(&package_dir).unwrap();
    let code = package.session_code(&key).unwrap();
    let positions = package.manifest().positions();
    assert_eq!(positions, 120);

    let server = start(filigree_server::Config {
        package: package_dir.clone(),
        key: key.clone(),
        token_key: token_key.clone(),
        ledger: None,
        web: repo().join("server/web"),
        listen: "127.0.0.1:0".parse().unwrap(),
        live: None,
    });
    let edge = Edge::start(
        &dir.path().join("edge"),
        &[&package_dir, &other_dir],
        &token_key,
    );
    let keys = EdgeKeys::of(&token_key);
    let now = unix_now();
    let edge_claims = |claims: &SessionClaims| {
        EdgeClaims::for_session(&package, &code, claims, now).expect("expires")
    };

    // Conformance: for many sessions, every segment the edge serves from the CDN token is
    // the one filigree serve serves from today's token, and the variant the code names.
    let mut sessions: Vec<u32> = (0..24u32)
        .map(|i| i.wrapping_mul(0x9e37_79b9) ^ 0x5bd1_e995)
        .collect();
    let ledger = dir.path().join("ledger.jsonl");
    let opened = open_session(
        &package,
        &key,
        &token_key,
        &ledger,
        Some("critic-9"),
        Some(0x2468_ace0),
        Some(3600),
    )
    .unwrap();
    sessions.push(opened.claims.session);
    let mut tokens = Vec::new();
    for &session in &sessions {
        let claims = SessionClaims {
            session,
            title_id: 5,
            expires: Some(now + 3600),
        };
        let served = issue(&token_key, &claims);
        let token = cwt::issue(&keys, &edge_claims(&claims));
        for position in 0..positions {
            let name = format!("360p/{position:06}.m4s");
            let from_edge = body(edge.address, &format!("/t/5/s/{token}/{name}"));
            let from_server = body(server, &format!("/s/{served}/{name}"));
            assert!(
                from_edge == from_server,
                "session {session:08x}, {name}: the edge's bytes differ from the server's"
            );
            let variant = code.variant(session, position);
            let file = package.segment_path(variant, "360p", position);
            assert_eq!(from_edge, std::fs::read(file).unwrap());
        }
        tokens.push(token);
    }
    let patterns: std::collections::HashSet<Vec<Variant>> = sessions
        .iter()
        .map(|&s| (0..positions).map(|p| code.variant(s, p)).collect())
        .collect();
    assert_eq!(
        patterns.len(),
        sessions.len(),
        "every session its own pattern"
    );
    let token = tokens.last().unwrap().clone();
    let served = opened.token.clone();
    for name in [
        "master.m3u8",
        "360p.m3u8",
        "240p.m3u8",
        "360p/init.mp4",
        "240p/init.mp4",
        "240p/000041.m4s",
    ] {
        assert_eq!(
            body(edge.address, &format!("/t/5/s/{token}/{name}")),
            body(server, &format!("/s/{served}/{name}")),
            "{name}"
        );
    }
    let mpd = body(edge.address, &format!("/t/5/s/{token}/manifest.mpd"));
    assert!(String::from_utf8_lossy(&mpd).contains("$RepresentationID$/$Number%06d$.m4s"));

    // Refusals: 403 for any token that is not this title's, unaltered and current; 404 for
    // what the title does not have; the WMPaceInfo sidecars are the edge's alone.
    let claims = opened.claims;
    let cwt_of = |edge_claims: &EdgeClaims| cwt::issue(&keys, edge_claims);
    let expired = cwt_of(&EdgeClaims {
        expires: now - 1,
        ..edge_claims(&claims)
    });
    let forged = cwt::issue(
        &EdgeKeys::of(&Key::from_bytes([63; 32])),
        &edge_claims(&claims),
    );
    let mut short = edge_claims(&claims);
    short.pattern.truncate(positions as usize - 1);
    let short = cwt_of(&short);
    let title_9 = cwt_of(&EdgeClaims {
        title_id: 9,
        ..edge_claims(&claims)
    });
    let truncated = token[..token.len() - 4].to_string();
    let status = |path: &str| http(edge.address, "GET", path).0;
    for bad in [
        &expired, &forged, &short, &title_9, &truncated, &served, "0000",
    ] {
        for resource in [
            "master.m3u8",
            "manifest.mpd",
            "360p/000000.m4s",
            "360p/init.mp4",
        ] {
            assert_eq!(
                status(&format!("/t/5/s/{bad}/{resource}")),
                403,
                "{resource}"
            );
        }
        assert_eq!(status(&format!("/t/5/play/{bad}")), 403);
    }
    // Title 5's token replayed on title 6, which the same edge serves.
    assert_eq!(status(&format!("/t/6/s/{token}/240p/000000.m4s")), 403);
    assert_eq!(status(&format!("/t/6/s/{token}/master.m3u8")), 403);
    assert_eq!(status(&format!("/t/9/s/{title_9}/master.m3u8")), 404);
    assert_eq!(status(&format!("/t/5/s/{token}/360p/000120.m4s")), 404);
    assert_eq!(status(&format!("/t/5/s/{token}/1080p/000000.m4s")), 404);
    assert_eq!(status(&format!("/t/5/s/{token}/360p/wmpaceinfo")), 403);
    assert_eq!(status(&format!("/t/5/s/{token}/package.json")), 404);
    assert_eq!(status("/@pkg/5/package.json"), 404);
    assert_eq!(status("/@pace/5/360p/000000.m4s"), 404);
    assert_eq!(status("/t/5/s/"), 404);
    assert_eq!(
        http(edge.address, "POST", &format!("/t/5/s/{token}/master.m3u8")).0,
        405
    );
    assert_eq!(status(&format!("/t/5/play/{token}")), 200);
    // Byte ranges of a segment are ranges of the variant the session is served.
    let segment = format!("/t/5/s/{token}/360p/000007.m4s");
    let (code_206, _, part) = http_with(edge.address, "GET", &segment, &["Range: bytes=100-1099"]);
    assert_eq!(code_206, 206);
    assert_eq!(part, body(edge.address, &segment)[100..1100]);

    // Captures through the edge name the session: FFmpeg's HLS and DASH clients...
    let base = format!("http://{}/t/5/s/{token}", edge.address);
    for (client, url) in [("hls", "360p.m3u8"), ("dash", "manifest.mpd")] {
        let capture = dir.path().join(format!("{client}.mp4"));
        let input = format!("{base}/{url}");
        ffmpeg(&["-i", &input, "-map", "0:v:0", "-c", "copy", p(&capture)]);
        assert_eq!(
            detected(&capture, &key),
            Some((5, claims.session)),
            "{client} capture"
        );
    }
    // ... and dash.js in Chromium, through the web player the edge serves.
    let played = dir.path().join("played");
    let node = player(
        &format!("http://{}/t/5/play/{token}?player=dash", edge.address),
        &played,
    )
    .output()
    .expect("node runs (scripts/setup-debian installs it, with Chromium)");
    assert!(
        node.status.success(),
        "dash.js playback failed: {}",
        String::from_utf8_lossy(&node.stderr)
    );
    eprintln!("{}", String::from_utf8_lossy(&node.stdout).trim());
    assert_eq!(
        detected(&fetched_stream(&played), &key),
        Some((5, claims.session)),
        "dash.js playback"
    );

    // hls.js plays through the edge too, fetching exactly the session's variants; and
    // dash.js plays title 6's audio adaptation set beside its video.
    let played_hls = dir.path().join("played-hls");
    let node = player(
        &format!("http://{}/t/5/play/{token}", edge.address),
        &played_hls,
    )
    .args(["--seconds", "6"])
    .output()
    .unwrap();
    assert!(
        node.status.success(),
        "hls.js: {}",
        String::from_utf8_lossy(&node.stderr)
    );
    let fetched = fetched_files(&played_hls);
    assert!(fetched.len() > 8, "{fetched:?}");
    for (url, bytes) in &fetched {
        let name = url.rsplit('/').next().unwrap();
        let rendition = url.rsplit('/').nth(1).unwrap();
        let file = match name.strip_suffix(".m4s") {
            Some(position) => {
                let position: u32 = position.parse().unwrap();
                let variant = code.variant(claims.session, position);
                package.segment_path(variant, rendition, position)
            }
            None => package.init_path(Variant::A, rendition),
        };
        assert!(*bytes == std::fs::read(&file).unwrap(), "{url}");
    }
    let claims_6 = SessionClaims {
        title_id: 6,
        ..claims
    };
    let package_6 = Package::open(&other_dir).unwrap();
    let code_6 = package_6.session_code(&key).unwrap();
    let token_6 = cwt::issue(
        &keys,
        &EdgeClaims::for_session(&package_6, &code_6, &claims_6, now).unwrap(),
    );
    let mpd_6 = body(edge.address, &format!("/t/6/s/{token_6}/manifest.mpd"));
    assert!(String::from_utf8_lossy(&mpd_6).contains("contentType=\"audio\""));
    let played_audio = dir.path().join("played-audio");
    let node = player(
        &format!("http://{}/t/6/play/{token_6}?player=dash", edge.address),
        &played_audio,
    )
    .output()
    .unwrap();
    assert!(
        node.status.success(),
        "dash.js with audio: {}",
        String::from_utf8_lossy(&node.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&node.stdout).trim()).unwrap();
    assert_eq!(report["ended"], true, "{report}");
    let audio = fetched_files(&played_audio)
        .iter()
        .filter(|(url, _)| url.contains("/audio/"))
        .count();
    assert!(audio >= 10, "{audio} audio segments fetched");

    // No token and no key in the edge's logs.
    let logs = edge.stop();
    assert!(logs.contains("/t/5/s/<token>/360p/000000.m4s"), "{logs}");
    for secret in tokens.iter().chain([&expired, &forged, &short, &truncated]) {
        assert!(
            !logs.contains(&secret[secret.len() - 24..]),
            "a token is in the logs"
        );
    }
    for key_hex in [keys.mac, keys.pattern].map(|k| filigree::digest::hex(&k)) {
        assert!(!logs.contains(&key_hex));
    }
}
