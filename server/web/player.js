// Filigree screening player.
//
// The page is served at /play/{token}. It knows nothing but that token: it asks the
// server for the session's public details (/s/{token}/session.json), plays the
// session's own HLS stream (/s/{token}/master.m3u8) with hls.js, and draws a visible
// overlay (recipient label, session id, UTC clock) over the picture. The forensic
// watermark is already in the video the server sends; the overlay is the visible deterrent.
// A live session (session.json says "live") is rendered for this viewer as they watch, its
// overlay burned into the picture: the page draws none, waits politely when every live
// renderer is busy (503 with Retry-After), and tells the server when the viewer leaves so
// that the renderer is freed at once.
//
// State for automated tests is kept on window.filigreePlayer.
(function () {
  'use strict';

  var INVALID_LINK = 'This screening link is not valid or has expired.';

  var video = document.getElementById('video');
  var frame = document.getElementById('frame');
  var overlay = document.getElementById('overlay');
  var ovLabel = document.getElementById('ov-label');
  var ovSession = document.getElementById('ov-session');
  var ovClock = document.getElementById('ov-clock');
  var message = document.getElementById('message');

  var hls = null;

  var state = {
    ready: false, // the stream's manifest is loaded and the video can start
    ended: false, // the video fired 'ended'
    error: null, // a message, once playback failed for good
    session: null, // the parsed session.json
    busy: null, // seconds until the next try, while every live renderer is busy
    stalls: 0, // times playback stopped to wait for data after it had started
    stalledSeconds: 0, // time spent waiting in those stalls
    startedAt: null, // ms since navigation when the first frame played
    currentTime: function () {
      return video.currentTime;
    },
    levels: function () {
      if (dash) {
        return dash.getRepresentationsByType('video').map(function (r) {
          return { width: r.width, height: r.height, bitrate: r.bandwidth, codecs: r.codecs || null };
        });
      }
      if (!hls || !hls.levels) return [];
      return hls.levels.map(function (l) {
        return { width: l.width, height: l.height, bitrate: l.bitrate, codecs: l.codecs || null };
      });
    },
  };
  window.filigreePlayer = state;

  // The token is the last component of the page's path: /play/{token} from `filigree
  // serve`, /t/{title}/play/{token} from an A/B edge; the stream is beside it under
  // .../s/{token}/. `?player=dash` plays the DASH manifest with dash.js instead of HLS.
  var parts = location.pathname.split('/').filter(function (p) { return p.length > 0; });
  var token = parts.length > 1 ? decodeURIComponent(parts[parts.length - 1]) : '';
  var prefix = location.pathname.slice(0, location.pathname.lastIndexOf('/play/'));
  var base = prefix + '/s/' + encodeURIComponent(token) + '/';
  var useDash = new URLSearchParams(location.search).get('player') === 'dash';
  var dash = null;

  // Stops everything and shows `text` in place of the video.
  function fail(text, detail) {
    if (state.error) return;
    state.error = detail ? text + ' (' + detail + ')' : text;
    if (hls) {
      hls.destroy();
      hls = null;
    }
    if (dash) {
      dash.reset();
      dash = null;
    }
    video.removeAttribute('src');
    frame.hidden = true;
    message.textContent = text;
    message.hidden = false;
  }

  // --- Overlay -------------------------------------------------------------------

  function pad(n) {
    return (n < 10 ? '0' : '') + n;
  }

  function utcNow() {
    var d = new Date();
    return d.getUTCFullYear() + '-' + pad(d.getUTCMonth() + 1) + '-' + pad(d.getUTCDate()) +
      ' ' + pad(d.getUTCHours()) + ':' + pad(d.getUTCMinutes()) + ':' + pad(d.getUTCSeconds()) +
      ' UTC';
  }

  function tick() {
    ovClock.textContent = utcNow();
  }

  // Places the overlay over the picture as the video shows it ("object-fit: contain"
  // letterboxes it inside the element), and scales its text with the picture's height.
  function layoutOverlay() {
    var ew = video.clientWidth;
    var eh = video.clientHeight;
    var vw = video.videoWidth || 16;
    var vh = video.videoHeight || 9;
    var scale = Math.min(ew / vw, eh / vh);
    var w = Math.round(vw * scale);
    var h = Math.round(vh * scale);
    overlay.style.left = Math.round((ew - w) / 2) + 'px';
    overlay.style.top = Math.round((eh - h) / 2) + 'px';
    overlay.style.width = w + 'px';
    overlay.style.height = h + 'px';
    overlay.style.fontSize = Math.max(10, h * 0.045).toFixed(1) + 'px';
  }

  function showSession(s) {
    var label = s.label;
    if (label === null || label === undefined || label === '') {
      label = s.recipient !== undefined && s.recipient !== null ? 'recipient ' + s.recipient : '';
    }
    ovLabel.textContent = label;
    ovSession.textContent = 'session ' + s.session;
    tick();
    setInterval(tick, 1000);
    layoutOverlay();
    if (typeof ResizeObserver === 'function') {
      new ResizeObserver(layoutOverlay).observe(video);
    } else {
      window.addEventListener('resize', layoutOverlay);
    }
    video.addEventListener('loadedmetadata', layoutOverlay);
    video.addEventListener('resize', layoutOverlay); // the picture size changed (new level)
  }

  // --- Playback ------------------------------------------------------------------

  function autoplay() {
    // Muted autoplay is allowed by browsers; if it is refused anyway, the controls remain.
    var p = video.play();
    if (p && typeof p.catch === 'function') p.catch(function () {});
  }

  function startHls() {
    hls = new Hls({
      enableWorker: true,
      lowLatencyMode: false,
      startLevel: -1,
      capLevelToPlayerSize: false,
      backBufferLength: 30,
    });
    hls.on(Hls.Events.MANIFEST_PARSED, function () {
      state.ready = true;
      autoplay();
    });
    hls.on(Hls.Events.ERROR, function (_event, data) {
      if (!data.fatal) return; // hls.js retries non-fatal errors itself
      var code = data.response && data.response.code;
      var detail = data.type + '/' + data.details + (code ? ' HTTP ' + code : '');
      if (code === 403) {
        fail(INVALID_LINK, detail);
      } else {
        fail('Playback failed. Please reload the page.', detail);
      }
    });
    hls.loadSource(base + 'master.m3u8');
    hls.attachMedia(video);
  }

  // DASH with dash.js, loaded only when asked for.
  function startDash() {
    var script = document.createElement('script');
    script.src = '/player/dash.all.min.js';
    script.onerror = function () {
      fail('Playback failed. Please reload the page.', 'dash.js did not load');
    };
    script.onload = function () {
      dash = dashjs.MediaPlayer().create();
      dash.on(dashjs.MediaPlayer.events.STREAM_INITIALIZED, function () {
        state.ready = true;
        autoplay();
      });
      dash.on(dashjs.MediaPlayer.events.ERROR, function (e) {
        var error = e && e.error ? e.error : {};
        var detail = 'dash.js ' + (error.code || '?') + ' ' + (error.message || '');
        if (/403/.test(String(error.message || ''))) {
          fail(INVALID_LINK, detail);
        } else {
          fail('Playback failed. Please reload the page.', detail);
        }
      });
      dash.initialize(video, base + 'manifest.mpd', true);
    };
    document.body.appendChild(script);
  }

  function startNative() {
    // Safari (and iOS) play HLS themselves.
    video.addEventListener('loadedmetadata', function () {
      state.ready = true;
      autoplay();
    });
    video.addEventListener('error', function () {
      var e = video.error;
      fail('Playback failed. Please reload the page.', 'media error ' + (e ? e.code : '?'));
    });
    video.src = base + 'master.m3u8';
  }

  video.addEventListener('ended', function () {
    state.ended = true;
  });

  // Stalls after the start: the stream fell behind playback.
  var stalledSince = null;
  video.addEventListener('playing', function () {
    if (state.startedAt === null) state.startedAt = performance.now();
    if (stalledSince !== null) {
      state.stalledSeconds += (performance.now() - stalledSince) / 1000;
      stalledSince = null;
    }
  });
  video.addEventListener('waiting', function () {
    if (state.startedAt === null || state.ended || video.seeking) return;
    state.stalls += 1;
    stalledSince = performance.now();
  });

  // A live session asks for its stream first: every renderer may be busy.
  function startLive() {
    fetch(base + 'master.m3u8', { cache: 'no-store', credentials: 'same-origin' })
      .then(function (r) {
        if (r.status === 503) {
          var after = parseInt(r.headers.get('Retry-After') || '10', 10);
          if (!(after > 0)) after = 10;
          state.busy = after;
          message.textContent =
            'Every live screening room is busy. Trying again in ' + after + ' s…';
          message.hidden = false;
          setTimeout(startLive, after * 1000);
          return r.text().catch(function () {});
        }
        if (r.status === 403) {
          fail(INVALID_LINK, 'HTTP 403');
          return;
        }
        if (r.status !== 200) throw new Error('HTTP ' + r.status);
        return r.text().then(function () {
          state.busy = null;
          message.hidden = true;
          startPlayback();
        });
      })
      .catch(function (e) {
        fail('Playback failed. Please reload the page.', String(e && e.message ? e.message : e));
      });
  }

  function startPlayback() {
    if (useDash) {
      startDash();
    } else if (typeof Hls !== 'undefined' && Hls.isSupported()) {
      startHls();
    } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
      startNative();
    } else {
      fail('This browser cannot play the stream.', 'no MSE and no native HLS');
    }
  }

  function start() {
    if (!token) {
      fail(INVALID_LINK, 'no token in URL');
      return;
    }
    fetch(base + 'session.json', { cache: 'no-store', credentials: 'same-origin' })
      .then(function (r) {
        if (r.status !== 200) throw new Error('HTTP ' + r.status);
        return r.json();
      })
      .then(function (s) {
        if (!s || typeof s.session !== 'string') throw new Error('malformed session.json');
        state.session = s;
        if (s.live) {
          overlay.hidden = true; // burned into the picture
          // The renderer is freed as soon as the viewer leaves (idle ones are dropped too).
          window.addEventListener('pagehide', function () {
            if (navigator.sendBeacon) navigator.sendBeacon(base + 'end');
          });
          startLive();
        } else {
          showSession(s);
          startPlayback();
        }
      })
      .catch(function (e) {
        fail(INVALID_LINK, String(e && e.message ? e.message : e));
      });
  }

  start();
})();
