//! `filigree edge`: an A/B watermarking edge on nginx with njs, for CDN-scale delivery of
//! two-step packages without `filigree serve`. The edge checks each viewer's CDN token
//! (a CWT, [`filigree::twostep::cwt`]) and picks each segment's variant from it, as
//! ETSI TS 104 002 (DASH-IF forensic A/B watermarking) puts it at the edge: it holds two
//! subkeys of the token key ([`EdgeKeys`]), never the marking key, and no state, so any
//! number of edges serve the same viewers from the packages as prepared.
//!
//! [`write`] fills a folder with a complete nginx configuration (`nginx.conf`, run with
//! `nginx -p <folder> -c nginx.conf`), the edge script (`filigree-edge.js`, the rule
//! itself) and the keys (`edge-keys.conf`, owner-only). Viewers' URLs mirror
//! `filigree serve`'s under a title prefix: `/t/<title>/play/<token>` (the player) and
//! `/t/<title>/s/<token>/...` (HLS `master.m3u8`, DASH `manifest.mpd`, segments).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use filigree::digest::hex;
use filigree::twostep::Package;
use filigree::twostep::cwt::EdgeKeys;
use filigree::twostep::prepare::PACE_INFO_DIR;

use crate::ServerError;
use crate::routes::PLAYER_FILES;

/// The edge rule, for njs.
const SCRIPT: &str = include_str!("../edge/filigree-edge.js");

/// Debian's njs module (package libnginx-mod-http-js).
pub const DEBIAN_NJS_MODULE: &str = "/usr/lib/nginx/modules/ngx_http_js_module.so";

/// What an edge serves and how.
pub struct EdgeConfig {
    /// The packages, one per title (their title IDs must differ).
    pub packages: Vec<PathBuf>,
    /// The web player's folder (as for `filigree serve`).
    pub web: PathBuf,
    /// nginx `listen` value, e.g. `127.0.0.1:8080`.
    pub listen: String,
    /// The edge's subkeys of the token key.
    pub keys: EdgeKeys,
    /// Path of nginx's njs module.
    pub njs_module: PathBuf,
}

/// Writes the edge for `config` into `dir` (created; refused if it holds an edge already).
pub fn write(dir: &Path, config: &EdgeConfig) -> Result<(), ServerError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ServerError::EdgeFolder { path, source }
    };
    let absolute = |p: &Path| fs::canonicalize(p).map_err(io(p));
    let mut titles = Vec::new();
    for path in &config.packages {
        let package = Package::open(path)?;
        let root = absolute(path)?;
        if !root.join(PACE_INFO_DIR).is_dir() {
            return Err(ServerError::EdgeNeedsPaceInfo { package: root });
        }
        if titles
            .iter()
            .any(|(p, _): &(Package, PathBuf)| p.manifest().title_id == package.manifest().title_id)
        {
            return Err(ServerError::EdgeTitleTwice(package.manifest().title_id));
        }
        titles.push((package, root));
    }
    let web = absolute(&config.web)?;
    for (_, file) in PLAYER_FILES {
        if !web.join(file).is_file() {
            return Err(ServerError::PlayerFileMissing {
                path: web.join(file),
            });
        }
    }
    fs::create_dir_all(dir).map_err(io(dir))?;
    let dir = absolute(dir)?;
    let conf = dir.join("nginx.conf");
    if conf.exists() {
        return Err(ServerError::EdgeExists(dir));
    }
    for sub in ["logs", "tmp"] {
        fs::create_dir_all(dir.join(sub)).map_err(io(&dir))?;
    }
    let keys = format!(
        "# The edge's subkeys of the token key: keep this file private.\n\
         js_var $filigree_mac_key {};\njs_var $filigree_pattern_key {};\n",
        hex(&config.keys.mac),
        hex(&config.keys.pattern)
    );
    filigree::key::write_secret_file(&dir.join("edge-keys.conf"), &keys)?;
    write_new(&dir.join("filigree-edge.js"), SCRIPT.as_bytes()).map_err(io(&dir))?;
    let text = nginx_conf(&dir, &web, config, &titles);
    write_new(&conf, text.as_bytes()).map_err(io(&conf))?;
    Ok(())
}

/// Creates `path` (a file anyone may read), refusing to replace one.
fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// The response headers every location sets (`add_header` in a location replaces the
/// server's), with `cache` as its caching policy.
fn headers(cache: &str) -> String {
    format!(
        "add_header Cache-Control \"{cache}\" always; \
         add_header Referrer-Policy no-referrer always; \
         add_header X-Content-Type-Options nosniff always;"
    )
}

fn nginx_conf(
    dir: &Path,
    web: &Path,
    config: &EdgeConfig,
    titles: &[(Package, PathBuf)],
) -> String {
    let d = dir.display();
    let mut locations = String::new();
    for (url, file) in PLAYER_FILES.iter().filter(|(url, _)| *url != "player.html") {
        locations.push_str(&format!(
            "        location = /player/{url} {{ alias {}; {} }}\n",
            web.join(file).display(),
            headers("public, max-age=300")
        ));
    }
    locations.push_str(&format!(
        "        location = /@web/player.html {{ internal; alias {}; {} }}\n",
        web.join("player.html").display(),
        headers("private, no-store")
    ));
    for (package, root) in titles {
        let m = package.manifest();
        let renditions: Vec<&str> = m.renditions.iter().map(|r| r.name.as_str()).collect();
        let id = m.title_id;
        locations.push_str(&format!(
            "        # Title {id}: {root}\n\
             \x20       location /t/{id}/ {{\n\
             \x20           set $filigree_title {id};\n\
             \x20           set $filigree_positions {positions};\n\
             \x20           set $filigree_renditions \"{renditions}\";\n\
             \x20           js_content edge.serve;\n\
             \x20           {refusals}\n\
             \x20       }}\n\
             \x20       location /@pkg/{id}/ {{ internal; alias {root}/; {cache} }}\n\
             \x20       location /@pace/{id}/ {{ internal; alias {root}/{PACE_INFO_DIR}/; }}\n",
            root = root.display(),
            positions = m.positions(),
            renditions = renditions.join(" "),
            cache = headers("$filigree_cache"),
            refusals = headers("private, no-store"),
        ));
    }
    format!(
        "# Written by `filigree edge`: an A/B watermarking edge (ETSI TS 104 002, direct mode).\n\
         # Run it with: nginx -p {d} -c nginx.conf\n\
         load_module {njs};\n\
         worker_processes auto;\n\
         worker_rlimit_nofile 65536;\n\
         pid {d}/nginx.pid;\n\
         # Errors only: nginx's lower levels quote request lines, and with them tokens.\n\
         error_log {d}/logs/error.log error;\n\
         events {{ worker_connections 16384; }}\n\
         http {{\n\
         \x20   js_import edge from {d}/filigree-edge.js;\n\
         \x20   include {d}/edge-keys.conf;\n\
         \x20   js_set $filigree_logged_uri edge.loggedUri;\n\
         \x20   log_format filigree '$remote_addr [$time_iso8601] \"$request_method $filigree_logged_uri\" $status $body_bytes_sent $request_time';\n\
         \x20   access_log {d}/logs/access.log filigree buffer=64k flush=1s;\n\
         \x20   log_not_found off;\n\
         \x20   server_tokens off;\n\
         \x20   client_body_temp_path {d}/tmp/body;\n\
         \x20   proxy_temp_path {d}/tmp/proxy;\n\
         \x20   fastcgi_temp_path {d}/tmp/fastcgi;\n\
         \x20   uwsgi_temp_path {d}/tmp/uwsgi;\n\
         \x20   scgi_temp_path {d}/tmp/scgi;\n\
         \x20   sendfile on;\n\
         \x20   tcp_nopush on;\n\
         \x20   keepalive_requests 100000;\n\
         \x20   keepalive_timeout 75s;\n\
         \x20   types {{\n\
         \x20       application/vnd.apple.mpegurl m3u8;\n\
         \x20       application/dash+xml mpd;\n\
         \x20       video/mp4 mp4 m4s;\n\
         \x20       text/html html;\n\
         \x20       text/javascript js;\n\
         \x20       text/css css;\n\
         \x20   }}\n\
         \x20   default_type application/octet-stream;\n\
         \x20   # Playlists may change when a package is re-prepared; segments do not.\n\
         \x20   map $uri $filigree_cache {{\n\
         \x20       ~\\.(m3u8|mpd)$ \"private, max-age=60\";\n\
         \x20       default \"private, max-age=86400\";\n\
         \x20   }}\n\
         \x20   server {{\n\
         \x20       # A backlog for thousands of viewers connecting at once (nginx's default 511\n\
         \x20       # resets connections under a start-of-event storm), and one listening socket\n\
         \x20       # per worker so that the kernel spreads connections evenly (with a shared\n\
         \x20       # one, some connections waited over 10 s under 5 000 at once).\n\
         \x20       listen {listen} backlog=8192 reuseport;\n\
         \x20       location = /healthz {{ default_type text/plain; return 200 \"ok\\n\"; }}\n\
         {locations}\
         \x20       location / {{ default_type text/plain; return 404 \"Not Found\\n\"; }}\n\
         \x20   }}\n\
         }}\n",
        njs = config.njs_module.display(),
        listen = config.listen,
    )
}
