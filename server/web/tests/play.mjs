#!/usr/bin/env node
// Plays a Filigree screening link in headless Chromium and keeps what the browser fetched.
//
//   node server/web/tests/play.mjs URL OUTDIR [--seconds N] [--screenshot FILE]
//                                   [--display :N [--screen WxH]]
//
// URL is a player page (http://HOST:PORT/play/TOKEN). Every media segment response
// (path ending in .mp4 or .m4s, status 200 or 206) is saved in OUTDIR, in the order the
// responses arrived, as NNNN-<basename> (numbered from 0000), and listed in
// OUTDIR/fetched.json as {url, file, status, bytes}. Playlists and session.json are saved
// the same way under OUTDIR/playlists/ and listed, with any status, in
// OUTDIR/playlists.json. The page's console errors and warnings, and segment responses
// with other statuses, go to OUTDIR/console.log.
//
// It waits until the player reports the end of the video, or for N seconds with
// --seconds (without it: until the end, and at most 120 s, after which it fails).
// --screenshot FILE takes a picture of the page about 2 s into playback.
// --display :N runs Chromium with a window on that X display (an Xvfb screen, say) instead
// of headless: full screen in kiosk mode (no tabs or address bar), a fresh profile in a
// temporary folder, the window the size of the screen (--screen, default 1280x720), so
// what the screen shows can be recorded (scripts/capture-chain records it with FFmpeg's
// x11grab).
//
// Prints one JSON line: {"segments":N,"played_seconds":X,"ended":bool,"levels":[...],
// "first_frame_seconds":S,"stalls":K,"stalled_seconds":W,"live":bool,
// "decoded_frames":D,"dropped_frames":F,"requested_at_ms":T}: seconds from the page
// request (at T, ms since the Unix epoch) to the first frame played, the stalls after it
// (playback waiting for data), and the video frames the browser decoded and dropped (late
// for their display time: getVideoPlaybackQuality). The page is closed before the
// browser, so a live session's player ends its session as a leaving viewer's does.
// Exits 1 with one line on stderr when the player reports an error, no segment was
// fetched, or playback never advanced.
//
// Chromium: $CHROMIUM, or Debian's /usr/bin/chromium (its build plays H.264 in MSE).

import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const DEFAULT_MAX_SECONDS = 120;
const SCREENSHOT_AT = 2.0; // seconds of playback

function usage(msg) {
  if (msg) process.stderr.write(`play.mjs: ${msg}\n`);
  process.stderr.write('usage: node play.mjs URL OUTDIR [--seconds N] [--screenshot FILE]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { url: null, outdir: null, seconds: null, screenshot: null, display: null,
    screen: '1280x720' };
  const positional = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--seconds') {
      const n = Number(argv[++i]);
      if (!(n > 0)) usage('--seconds needs a positive number');
      opts.seconds = n;
    } else if (a === '--screenshot') {
      opts.screenshot = argv[++i];
      if (!opts.screenshot) usage('--screenshot needs a file');
    } else if (a === '--display') {
      opts.display = argv[++i];
      if (!/^:\d+(\.\d+)?$/.test(opts.display || '')) usage('--display needs :N');
    } else if (a === '--screen') {
      opts.screen = argv[++i];
      if (!/^\d+x\d+$/.test(opts.screen || '')) usage('--screen needs WxH');
    } else if (a === '-h' || a === '--help') {
      usage();
    } else if (a.startsWith('--')) {
      usage(`unknown option ${a}`);
    } else {
      positional.push(a);
    }
  }
  if (positional.length !== 2) usage('need URL and OUTDIR');
  [opts.url, opts.outdir] = positional;
  return opts;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Index prefix: 0000, 0001, ...
const numbered = (n, name) => `${String(n).padStart(4, '0')}-${name}`;

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  fs.mkdirSync(opts.outdir, { recursive: true });

  const args = [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-dev-shm-usage',
    '--autoplay-policy=no-user-gesture-required',
  ];
  let browser = null;
  let context;
  let profile = null;
  if (opts.display) {
    // A window on the display, full screen: the first window of a persistent context is
    // the one --kiosk applies to (a context made by newContext() opens a normal window).
    profile = fs.mkdtempSync(path.join(os.tmpdir(), 'filigree-play-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      headless: false,
      viewport: null,
      env: { ...process.env, DISPLAY: opts.display },
      args: [
        ...args,
        '--kiosk',
        '--window-position=0,0',
        `--window-size=${opts.screen.replace('x', ',')}`,
      ],
    });
  } else {
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      headless: true,
      args: ['--headless=new', ...args],
    });
    // A new context is a fresh, temporary profile.
    context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  }

  try {
    const page = context.pages()[0] || (await context.newPage());

    const segments = []; // fetched.json
    const playlists = []; // playlists.json
    const saving = []; // pending body writes
    const consoleLines = [];
    const counters = { segment: 0, playlist: 0 };
    fs.mkdirSync(path.join(opts.outdir, 'playlists'), { recursive: true });

    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') {
        consoleLines.push(`${m.type()}: ${m.text()}`);
      }
    });
    page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));

    page.on('response', (resp) => {
      let p;
      try {
        p = new URL(resp.url()).pathname;
      } catch {
        return;
      }
      const status = resp.status();
      const isSegment = p.endsWith('.mp4') || p.endsWith('.m4s');
      const isPlaylist = p.endsWith('.m3u8') || p.endsWith('/session.json');
      if (!isSegment && !isPlaylist) return;
      if (isSegment && status !== 200 && status !== 206) {
        consoleLines.push(`http: ${status} ${resp.url()}`);
        return;
      }
      // The entry takes its place in the list now, so that the order is arrival order.
      const entry = { url: resp.url(), file: null, status, bytes: 0 };
      (isSegment ? segments : playlists).push(entry);
      if (status !== 200 && status !== 206) return;
      const file = isSegment
        ? numbered(counters.segment++, path.posix.basename(p))
        : path.posix.join('playlists', numbered(counters.playlist++, path.posix.basename(p)));
      saving.push(
        resp
          .body()
          .then((body) => {
            fs.writeFileSync(path.join(opts.outdir, ...file.split('/')), body);
            entry.file = file;
            entry.bytes = body.length;
          })
          .catch((e) => consoleLines.push(`body: ${resp.url()}: ${e.message}`)),
      );
    });

    const requested = Date.now();
    const nav = await page.goto(opts.url, { waitUntil: 'load' });
    // performance.now() in the page counts from its navigation start.
    const navigatedAt = await page.evaluate(() => performance.timeOrigin);
    if (!nav || nav.status() !== 200) {
      throw new Error(`player page answered HTTP ${nav ? nav.status() : '(none)'}`);
    }

    // Poll the player's state until it ends, fails, or time is up.
    const limit = (opts.seconds ?? DEFAULT_MAX_SECONDS) * 1000;
    const t0 = Date.now();
    let st = null;
    let maxTime = 0;
    let shot = false;
    for (;;) {
      st = await page.evaluate(() => {
        const f = window.filigreePlayer;
        if (!f) return null;
        return {
          ready: f.ready,
          ended: f.ended,
          error: f.error,
          t: f.currentTime(),
          levels: f.levels(),
          startedAt: f.startedAt,
          stalls: f.stalls,
          stalledSeconds: f.stalledSeconds,
          live: Boolean(f.session && f.session.live),
          quality: quality(),
        };
        function quality() {
          const v = document.getElementById('video');
          const q = v && v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality() : null;
          return q ? { decoded: q.totalVideoFrames, dropped: q.droppedVideoFrames } : null;
        }
      });
      if (st) {
        if (st.error) break;
        maxTime = Math.max(maxTime, st.t);
        if (opts.screenshot && !shot && (st.t >= SCREENSHOT_AT || st.ended)) {
          await page.screenshot({ path: opts.screenshot });
          shot = true;
        }
        if (st.ended) break;
      }
      if (Date.now() - t0 >= limit) break;
      await sleep(200);
    }
    // A short video may end before the screenshot point; a --seconds run may stop first.
    if (opts.screenshot && !shot) await page.screenshot({ path: opts.screenshot });

    await Promise.all(saving);
    fs.writeFileSync(path.join(opts.outdir, 'fetched.json'), JSON.stringify(segments, null, 2) + '\n');
    fs.writeFileSync(path.join(opts.outdir, 'playlists.json'), JSON.stringify(playlists, null, 2) + '\n');
    fs.writeFileSync(path.join(opts.outdir, 'console.log'), consoleLines.join('\n') + (consoleLines.length ? '\n' : ''));

    const firstFrame =
      st && st.startedAt !== null ? (navigatedAt + st.startedAt - requested) / 1000 : null;
    const summary = {
      segments: segments.length,
      played_seconds: Math.round(maxTime * 1000) / 1000,
      ended: Boolean(st && st.ended),
      levels: st ? st.levels : [],
      first_frame_seconds: firstFrame === null ? null : Math.round(firstFrame * 1000) / 1000,
      stalls: st ? st.stalls : 0,
      stalled_seconds: st ? Math.round(st.stalledSeconds * 1000) / 1000 : 0,
      live: Boolean(st && st.live),
      decoded_frames: st && st.quality ? st.quality.decoded : null,
      dropped_frames: st && st.quality ? st.quality.dropped : null,
      requested_at_ms: requested,
    };
    // Leave the page as a viewer does (a live player ends its session on 'pagehide').
    await page.close({ runBeforeUnload: true });
    await sleep(300);
    process.stdout.write(JSON.stringify(summary) + '\n');

    if (!st) throw new Error('the page never set window.filigreePlayer');
    if (st.error) throw new Error(`player error: ${st.error}`);
    if (segments.length === 0) throw new Error('no media segment was fetched');
    if (!(maxTime > 0)) throw new Error('playback never advanced (currentTime stayed 0)');
    if (opts.seconds === null && !st.ended) {
      throw new Error(`the video did not end within ${DEFAULT_MAX_SECONDS} s`);
    }
  } finally {
    // A kiosk window closes the browser with its last page, so the context may be gone.
    await context.close().catch(() => {});
    if (browser) await browser.close();
    if (profile) fs.rmSync(profile, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`play.mjs: ${e && e.message ? e.message.split('\n')[0] : e}\n`);
  process.exit(1);
});
