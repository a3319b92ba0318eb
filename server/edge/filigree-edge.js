// Filigree's A/B edge for nginx (njs 0.7 or later): the DASH-IF / ETSI TS 104 002 edge
// rule in direct mode. Written into an edge's folder by `filigree edge`, which also writes
// the nginx configuration that calls it (server/src/edge.rs).
//
// A viewer's URLs are /t/<title>/s/<token>/<resource> (and the player page
// /t/<title>/play/<token>). The token is a CWT (core/src/twostep/cwt.rs): this script
// checks its MAC, expiry, watermarking claims and title, decrypts its A/B pattern, and for a
// video segment <rendition>/<n>.m4s reads the segment's WMPaceInfo (an internal
// subrequest) for its position and serves a/ or b/ by the pattern's bit. Everything else
// (playlists, the MPD, init segments, audio) is the package's own file. The edge holds
// two subkeys of the token key, never the token key or the marking key, and keeps no
// state: any number of edges serve the same viewers.
//
// njs 0.7.9 (Debian 12's) crashes a worker on `await` inside an expression
// (`f(await g())`) and on a conditional expression that calls r.internalRedirect: every
// await here stands alone in its statement, and branches are if statements.
//
// Per-title settings come from the location (`filigree edge` writes one per title):
//   $filigree_title       the title ID this location serves
//   $filigree_positions   the title's positions (a shorter pattern is refused)
//   $filigree_renditions  its video renditions, space-separated
// and the keys from edge-keys.conf: $filigree_mac_key, $filigree_pattern_key (hex).
// Tokens are never logged: $filigree_logged_uri is the URI with the token replaced.

const WMVER = 1;
const VENDOR = 0x4647;
const TITLE_CLAIM = '-65537';
const MAX_TOKEN = 4096;
const TOKEN_CHARS = /^[A-Za-z0-9_-]+$/;
const SEGMENT = /^\d{6}\.m4s$/;

// --- CBOR (RFC 8949): the subset tokens and WMPaceInfo use ---------------------------

// Decodes one item at `at` of `bytes`; returns [value, next offset]. Maps become plain
// objects keyed by the keys' string forms ("4", "-65537", "position"), byte strings
// Uint8Array views, tags their content. (njs 0.7 has neither Map nor destructuring.)
function cborItem(bytes, at, depth) {
  if (depth > 16 || at >= bytes.length) throw new Error('cbor');
  const head = bytes[at];
  const major = head >> 5;
  const info = head & 31;
  let n;
  let next = at + 1;
  if (info < 24) {
    n = info;
  } else if (info <= 27) {
    const size = 1 << (info - 24);
    if (next + size > bytes.length) throw new Error('cbor');
    n = 0;
    for (let i = 0; i < size; i++) n = n * 256 + bytes[next + i];
    if (n > Number.MAX_SAFE_INTEGER) throw new Error('cbor');
    next += size;
  } else {
    throw new Error('cbor'); // indefinite lengths and reserved values: not in our tokens
  }
  switch (major) {
    case 0:
      return [n, next];
    case 1:
      return [-1 - n, next];
    case 2:
    case 3: {
      if (next + n > bytes.length) throw new Error('cbor');
      const part = bytes.subarray(next, next + n);
      return [major === 2 ? part : Buffer.from(part).toString(), next + n];
    }
    case 4: {
      const items = [];
      for (let i = 0; i < n; i++) {
        const item = cborItem(bytes, next, depth + 1);
        items.push(item[0]);
        next = item[1];
      }
      return [items, next];
    }
    case 5: {
      const map = {};
      for (let i = 0; i < n; i++) {
        const key = cborItem(bytes, next, depth + 1);
        const value = cborItem(bytes, key[1], depth + 1);
        map[String(key[0])] = value[0];
        next = value[1];
      }
      return [map, next];
    }
    case 6:
      return cborItem(bytes, next, depth + 1);
    default:
      if (info === 20 || info === 21) return [info === 21, next];
      throw new Error('cbor');
  }
}

function cbor(bytes) {
  const item = cborItem(bytes, 0, 0);
  if (item[1] !== bytes.length) throw new Error('cbor');
  return item[0];
}

function isMap(v) {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

// The CBOR head of a byte or text string of `length` (major type 2 or 3).
function head(major, length) {
  const m = major << 5;
  if (length < 24) return Buffer.from([m | length]);
  if (length < 256) return Buffer.from([m | 24, length]);
  if (length < 65536) return Buffer.from([m | 25, length >> 8, length & 255]);
  throw new Error('too long');
}

function bstr(bytes) {
  return Buffer.concat([head(2, bytes.length), Buffer.from(bytes)]);
}

// --- The token ------------------------------------------------------------------------

function hexKey(r, name) {
  const hex = r.variables[name] || '';
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error('edge key ' + name + ' is not set');
  return Buffer.from(hex, 'hex');
}

function isUint(v) {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}

// A token refused for `why` (answered 403), apart from the edge's own failures (500).
function Refused(why) {
  this.message = why;
}

async function verify(r, token, title) {
  if (token.length === 0 || token.length > MAX_TOKEN || !TOKEN_CHARS.test(token)) {
    throw new Refused('malformed token');
  }
  let mac0;
  try {
    // CWT tag 61 and COSE_Mac0 tag 17 are skipped by the decoder.
    const raw = Buffer.from(token, 'base64url');
    if (raw[0] !== 0xd8 || raw[1] !== 0x3d) throw new Error('not a CWT');
    mac0 = cbor(raw);
  } catch (e) {
    throw new Refused('malformed token');
  }
  if (!Array.isArray(mac0) || mac0.length !== 4 || !(mac0[0] instanceof Uint8Array) ||
      !(mac0[2] instanceof Uint8Array) || !(mac0[3] instanceof Uint8Array)) {
    throw new Refused('malformed token');
  }
  const protectedHeader = mac0[0];
  const payload = mac0[2];
  const tag = mac0[3];
  let alg;
  try {
    alg = cbor(protectedHeader)['1'];
  } catch (e) {
    throw new Refused('malformed token');
  }
  if (alg !== 5) throw new Refused('malformed token'); // HMAC 256/256
  // MAC_structure = ["MAC0", protected, external_aad = h'', payload]
  const toMac = Buffer.concat([
    Buffer.from([0x84, 0x64]), Buffer.from('MAC0'), bstr(protectedHeader), Buffer.from([0x40]),
    bstr(payload),
  ]);
  const macKey = await crypto.subtle.importKey(
    'raw', hexKey(r, 'filigree_mac_key'), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
  const authentic = await crypto.subtle.verify('HMAC', macKey, tag, toMac);
  if (!authentic) throw new Refused('token signature does not verify');
  let claims;
  try {
    claims = cbor(payload);
  } catch (e) {
    throw new Refused('malformed token');
  }
  if (!isMap(claims)) throw new Refused('malformed token');
  const exp = claims['4'];
  const patlen = claims['302'];
  const duration = claims['303'];
  const encrypted = claims['304'];
  const session = claims['2'];
  if (!isUint(exp) || !isUint(claims['6']) || claims['300'] !== WMVER ||
      claims['301'] !== VENDOR || !isUint(patlen) || !Array.isArray(duration) ||
      !(encrypted instanceof Uint8Array) || typeof session !== 'string' ||
      !/^[0-9a-f]{8}$/.test(session) || !isUint(claims[TITLE_CLAIM])) {
    throw new Refused('malformed token');
  }
  if (Date.now() / 1000 >= exp) throw new Refused('token has expired');
  if (claims[TITLE_CLAIM] !== title) throw new Refused('token is for another title');
  const positions = Number(r.variables.filigree_positions);
  if (patlen < positions) throw new Refused('token pattern is shorter than the title');
  // COSE_Encrypt0 = [protected, unprotected {5: iv}, ciphertext], AES-256-GCM (alg 3).
  let pattern;
  try {
    const message = cbor(encrypted);
    const encProtected = message[0];
    const ciphertext = message[2];
    const iv = message[1]['5'];
    if (cbor(encProtected)['1'] !== 3 || !(iv instanceof Uint8Array) || iv.length !== 12) {
      throw new Error('not A256GCM');
    }
    // Enc_structure = ["Encrypt0", protected, external_aad = h'']
    const aad = Buffer.concat([
      Buffer.from([0x83, 0x68]), Buffer.from('Encrypt0'), bstr(encProtected),
      Buffer.from([0x40]),
    ]);
    const aesKey = await crypto.subtle.importKey(
      'raw', hexKey(r, 'filigree_pattern_key'), 'AES-GCM', false, ['decrypt']);
    const plain = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: iv, additionalData: aad, tagLength: 128 }, aesKey, ciphertext);
    pattern = Buffer.from(plain);
  } catch (e) {
    throw new Refused('token pattern does not decrypt');
  }
  if (pattern.length !== Math.ceil(patlen / 8)) throw new Refused('malformed token');
  return { session: session, exp: exp, patlen: patlen, pattern: pattern };
}

// --- Requests --------------------------------------------------------------------------

function refuse(r, status, why) {
  r.headersOut['Content-Type'] = 'text/plain; charset=utf-8';
  r.return(status, (status === 403 ? 'forbidden: ' : 'not found: ') + why + '\n');
}

// Serves `uri` (an internal location) in place of the request.
function redirect(r, uri) {
  r.internalRedirect(uri);
}

// The variant of `position` in the token's pattern: bit 0 is the top bit of byte 0.
function variantOf(grant, position) {
  return (grant.pattern[position >> 3] >> (7 - (position & 7))) & 1 ? 'b' : 'a';
}

async function segment(r, grant, pkg, title, rendition, file) {
  const reply = await r.subrequest('/@pace/' + title + '/' + rendition + '/' + file);
  if (reply.status !== 200) return refuse(r, 404, 'no such segment');
  let position;
  try {
    position = cbor(Buffer.from(reply.responseBuffer)).position;
  } catch (e) {
    position = undefined;
  }
  if (!isUint(position)) return refuse(r, 404, 'segment has no WMPaceInfo');
  // Never a variant the pattern does not name (the token was checked against the title's
  // length; a pace info past it is refused too).
  if (position >= grant.patlen) return refuse(r, 403, 'position outside the token pattern');
  return redirect(r, pkg + variantOf(grant, position) + '/' + rendition + '/' + file);
}

// js_content for /t/<title>/...
async function serve(r) {
  const title = Number(r.variables.filigree_title);
  const prefix = '/t/' + title + '/';
  const pkg = '/@pkg/' + title + '/';
  const rest = r.uri.slice(prefix.length).split('/');
  if (r.method !== 'GET' && r.method !== 'HEAD') {
    r.headersOut['Allow'] = 'GET, HEAD';
    return r.return(405, 'Method Not Allowed\n');
  }
  const kind = rest[0];
  if ((kind !== 's' && kind !== 'play') || rest.length < 2 || rest[1] === '') {
    return refuse(r, 404, 'no such resource');
  }
  let grant;
  try {
    grant = await verify(r, rest[1], title);
  } catch (e) {
    if (e instanceof Refused) return refuse(r, 403, e.message);
    r.error('filigree edge: ' + e.message);
    return r.return(500, 'edge misconfigured\n');
  }
  const path = rest.slice(2);
  if (kind === 'play') {
    if (path.length !== 0) return refuse(r, 404, 'no such resource');
    return redirect(r, '/@web/player.html');
  }
  if (path.indexOf('wmpaceinfo') >= 0) return refuse(r, 403, 'WMPaceInfo is not served');
  const renditions = (r.variables.filigree_renditions || '').split(' ');
  const name = path.join('/');
  if (name === 'session.json') {
    r.headersOut['Content-Type'] = 'application/json';
    return r.return(200, JSON.stringify({
      session: grant.session, title_id: title, label: null,
      expires: new Date(grant.exp * 1000).toISOString().replace('.000Z', 'Z'), live: false,
    }));
  }
  if (path.length === 1 && /^[A-Za-z0-9_-]+\.(m3u8|mpd)$/.test(name)) {
    return redirect(r, pkg + name);
  }
  if (path.length === 2 && path[0] === 'audio' &&
      (path[1] === 'init.mp4' || SEGMENT.test(path[1]))) {
    return redirect(r, pkg + name);
  }
  if (path.length === 2 && renditions.indexOf(path[0]) >= 0) {
    if (path[1] === 'init.mp4') return redirect(r, pkg + 'a/' + name);
    if (SEGMENT.test(path[1])) return segment(r, grant, pkg, title, path[0], path[1]);
  }
  return refuse(r, 404, 'no such resource');
}

// js_set $filigree_logged_uri: the request URI with any token replaced.
function loggedUri(r) {
  return r.uri.replace(/^(\/t\/\d+\/(s|play)\/)[^/]*/, '$1<token>');
}

export default { serve, loggedUri };
