'use strict';
// Compatibility scenario: three unmodified miniplug@2.0.3 clients against a
// local Replug server.
//
//   REPLUG_PORT=8080 node -r ./shim.cjs driver.cjs
//
// Environment:
//   REPLUG_PORT              port of the server on 127.0.0.1 (required)
//   COMPAT_REPORT            also write the JSON report to this file
//   COMPAT_TIMEOUT_MS        limit for every single wait (default 15000)
//   COMPAT_TOTAL_TIMEOUT_MS  limit for the whole run (default 75000)
//
// Progress goes to stderr; the JSON report goes to stdout. Exit code 0 when
// every check passed, 1 otherwise, 2 when started wrongly.

const http = require('http');
const crypto = require('crypto');
const fs = require('fs');

if (!globalThis.__replugShim) {
  process.stderr.write('driver.cjs must be started with the shim: node -r ./shim.cjs driver.cjs\n');
  process.exit(2);
}

const miniplug = require('miniplug');

const PORT = Number(process.env.REPLUG_PORT);
const HOST = `http://127.0.0.1:${PORT}`;
const WAIT_MS = Number(process.env.COMPAT_TIMEOUT_MS || 15000);
const TOTAL_MS = Number(process.env.COMPAT_TOTAL_TIMEOUT_MS || 75000);
const REPORT_PATH = process.env.COMPAT_REPORT || '';
const T0 = Date.now();

// Longest pause miniplug's request queue inserts between two REST calls of
// one client (linear backoff, +200 ms per queued call, at most 2200 ms).
const MINIPLUG_MAX_BACKOFF_MS = 2200;

const PHASES = [
  'signup', 'login', 'room', 'chat', 'playlists', 'booth', 'votes', 'grab',
  'advance', 'playlistCycle', 'leave', 'protocol'
];

const report = {
  ok: false,
  server: HOST,
  miniplug: require('miniplug/package.json').version,
  phases: {},
  fatal: null,
  warnings: [],
  shim: null,
  durationMs: 0
};
for (const name of PHASES) report.phases[name] = { done: false, ok: false, checks: [] };

// --- helpers -----------------------------------------------------------------

function log (...parts) {
  const secs = ((Date.now() - T0) / 1000).toFixed(2).padStart(6);
  process.stderr.write(`[${secs}s] ${parts.join(' ')}\n`);
}

function short (value, max = 600) {
  let text;
  try {
    text = typeof value === 'string' ? value : JSON.stringify(value);
  } catch (e) {
    text = String(value);
  }
  if (text === undefined) text = String(value);
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

function sleep (ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function plain (value) {
  // miniplug wraps objects with prototypes whose toJSON returns the raw object.
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

function sameJSON (a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

function sortedKeys (obj) {
  return obj && typeof obj === 'object' ? Object.keys(obj).sort() : null;
}

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const TIMESTAMP = /^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}$/;

function parseServerTime (ts) {
  return new Date(`${ts.replace(' ', 'T')}Z`).getTime();
}

let currentPhase = null;

/** Record one check in the current phase. Returns `ok`. */
function check (name, ok, detail) {
  const entry = { name, ok: !!ok };
  if (!ok && detail !== undefined) entry.detail = short(detail, 1500);
  report.phases[currentPhase].checks.push(entry);
  log(`  ${ok ? 'ok  ' : 'FAIL'} ${currentPhase}: ${name}${ok ? '' : ` -- ${entry.detail || ''}`}`);
  return !!ok;
}

/** Like check(), but later steps depend on it: stop the scenario when false. */
function must (name, ok, detail) {
  if (!check(name, ok, detail)) {
    const err = new Error(`${currentPhase}: ${name} failed${detail === undefined ? '' : `: ${short(detail, 1500)}`}`);
    err.recorded = true;
    throw err;
  }
}

/** Await a promise; on failure record a failed check (with the server's answer) and rethrow. */
async function step (name, promise) {
  try {
    const value = await promise;
    check(name, true);
    return value;
  } catch (err) {
    const detail = describeError(err);
    check(name, false, detail);
    const e = new Error(`${currentPhase}: ${name} failed: ${detail}`);
    e.recorded = true;
    throw e;
  }
}

function describeError (err) {
  if (!err) return String(err);
  const parts = [`${err.name && err.name !== 'Error' ? `${err.name}: ` : ''}${err.message || String(err)}`];
  const res = err.response;
  // miniplug errors carry the node-fetch Response (its JSON body is already consumed).
  if (res && typeof res === 'object') {
    if (res.status) parts.push(`HTTP ${res.status}`);
    if (res.url) parts.push(res.url);
  }
  if (typeof err.status === 'string') parts.push(`status ${err.status}`);
  if (err.cause) parts.push(`cause: ${err.cause.code || ''} ${err.cause.message || err.cause}`.trim());
  return parts.join(' | ');
}

function withTimeout (promise, ms, what) {
  let timer;
  const timeout = new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// --- clients -------------------------------------------------------------------

const MP_EVENTS = [
  'login', 'connected', 'disconnected', 'error', 'advance', 'chat', 'vote', 'grab',
  'waitlistUpdate', 'playlistCycle', 'userJoin', 'userLeave', 'roomState', 'earn',
  'notify', 'userUpdate', 'guestJoin', 'guestLeave', 'skip'
];

class Client {
  constructor (label) {
    const suffix = crypto.randomBytes(3).toString('hex');
    this.label = label;
    this.username = `${label}_${suffix}`;
    this.email = `${label}.${suffix}@example.test`;
    this.password = `pw-${suffix}-long-enough`;
    // miniplug's default agent is an https.Agent, which cannot carry http://
    // requests. Keep its keep-alive behaviour, but drop idle connections after
    // 4 s so that reusing one never races the server closing it.
    this.agent = new http.Agent({ keepAlive: true, timeout: 4000 });
    this.mp = miniplug({ host: HOST, agent: this.agent });
    this.events = []; // {seq, src: 'mp' | 'ws', name, args, at}
    this.frames = []; // raw text frames, in arrival order
    this.socketOpenedAt = null;
    this.closed = null;
    this.listeners = new Set();
    for (const name of MP_EVENTS) {
      this.mp.on(name, (...args) => this.record('mp', name, args));
    }
  }

  get id () {
    const me = this.mp.me();
    return me ? me.id : undefined;
  }

  record (src, name, args) {
    const ev = { seq: this.events.length, src, name, args, at: Date.now() };
    this.events.push(ev);
    for (const listener of [...this.listeners]) listener(ev);
  }

  attachSocket () {
    const ws = this.mp.ws;
    ws.on('open', () => { this.socketOpenedAt = Date.now(); });
    // Parse each frame again here: miniplug mutates the payload objects it is
    // handed (plug-socket's own handler runs first), and the checks below want
    // the payloads exactly as the server sent them.
    ws.on('message', (data) => {
      const text = String(data);
      this.frames.push({ at: Date.now(), data: text });
      if (text === 'h') return;
      let parsed;
      try {
        parsed = JSON.parse(text);
      } catch (e) {
        return; // reported by the protocol phase
      }
      if (!Array.isArray(parsed)) return;
      for (const ev of parsed) {
        if (ev && typeof ev === 'object') this.record('ws', ev.a, [ev.p, ev.s]);
      }
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: String(reason || ''), at: Date.now() };
    });
    ws.on('error', (err) => this.record('ws', 'socketError', [String(err && err.message)]));
  }

  mark () {
    return this.events.length;
  }

  since (mark, src, name) {
    return this.events.filter((ev) => ev.seq >= mark && ev.src === src && ev.name === name);
  }

  /** Payloads of raw socket events `name` received since `mark`. */
  raw (mark, name) {
    return this.since(mark, 'ws', name).map((ev) => ev.args[0]);
  }

  waitFor (what, src, name, pred = () => true, { since = 0, timeout = WAIT_MS } = {}) {
    return new Promise((resolve, reject) => {
      const matches = (ev) => ev.seq >= since && ev.src === src && ev.name === name && pred(...ev.args);
      const found = this.events.find(matches);
      if (found) return resolve(found.args);
      const listener = (ev) => {
        if (matches(ev)) {
          cleanup();
          resolve(ev.args);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        const seen = this.events.filter((ev) => ev.seq >= since && ev.src === 'ws')
          .map((ev) => `${ev.name}${short(ev.args[0], 160)}`);
        reject(new Error(
          `${this.label} did not receive ${what} within ${timeout} ms` +
          ` (socket events since the action: ${seen.length ? seen.slice(-12).join(', ') : 'none'})`
        ));
      }, timeout);
      const cleanup = () => {
        clearTimeout(timer);
        this.listeners.delete(listener);
      };
      this.listeners.add(listener);
    });
  }

  waitRaw (what, name, pred, opts) {
    return this.waitFor(what, 'ws', name, pred, opts).then((args) => args[0]);
  }

  close () {
    try {
      if (this.mp.ws) this.mp.ws.close();
    } catch (e) { /* ignore */ }
    this.agent.destroy();
  }
}

// Plain HTTP for what miniplug cannot do (signup).
async function rest (method, path, { body, cookie } = {}) {
  const headers = { 'content-type': 'application/json' };
  if (cookie) headers.cookie = cookie;
  const res = await withTimeout(fetch(`${HOST}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body)
  }), WAIT_MS, `${method} ${path}`);
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch (e) { /* leave null */ }
  const setCookies = typeof res.headers.getSetCookie === 'function'
    ? res.headers.getSetCookie()
    : (res.headers.get('set-cookie') ? [res.headers.get('set-cookie')] : []);
  return { status: res.status, json, text, setCookies };
}

function describeResponse (method, path, res) {
  return `${method} ${path} -> HTTP ${res.status} ${short(res.json || res.text, 500)}`;
}

function media (cid, title, duration) {
  return {
    format: 1,
    cid,
    author: 'Replug Compat',
    title,
    image: `https://i.ytimg.com/vi/${cid}/default.jpg`,
    duration
  };
}

function slugify (name) {
  return name.replace(/</g, ' lt ').replace(/>/g, ' gt ').toLowerCase()
    .replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
}

// --- the scenario ----------------------------------------------------------------

const ada = new Client('ada');
const bram = new Client('bram');
const cleo = new Client('cleo');
const clients = [ada, bram, cleo];
const ctx = {};

function othersOf (client) {
  return clients.filter((c) => c !== client);
}

const stages = {};

stages.signup = async () => {
  await Promise.all(clients.map(async (c) => {
    const init = await rest('GET', '/_/mobile/init');
    const envelopeOk = init.json && sameJSON(sortedKeys(init.json), ['data', 'meta', 'status', 'time']);
    check(`${c.label}: mobile/init answers 200 with the {data, meta, status, time} envelope`,
      init.status === 200 && envelopeOk && init.json.status === 'ok' &&
      typeof init.json.time === 'number', describeResponse('GET', '/_/mobile/init', init));
    const csrf = init.json && Array.isArray(init.json.data) && init.json.data[0] && init.json.data[0].c;
    must(`${c.label}: mobile/init data[0].c is a CSRF token`, typeof csrf === 'string' && csrf.length > 0,
      describeResponse('GET', '/_/mobile/init', init));
    const sessionCookies = init.setCookies.filter((sc) => /^session=/.test(sc));
    must(`${c.label}: mobile/init sets the session cookie`, sessionCookies.length === 1,
      `Set-Cookie headers: ${short(init.setCookies)}`);
    check(`${c.label}: session is the only cookie set`, init.setCookies.length === 1,
      `Set-Cookie headers: ${short(init.setCookies)}`);
    const session = /^session=([^;]*)/.exec(sessionCookies[0])[1];
    const body = { csrf, username: c.username, email: c.email, password: c.password };
    const signup = await rest('POST', '/_/users/signup', { body, cookie: `session=${session}` });
    must(`${c.label}: POST /_/users/signup answers 200 ok with data []`,
      signup.status === 200 && signup.json && signup.json.status === 'ok' && sameJSON(signup.json.data, []),
      `${describeResponse('POST', '/_/users/signup', signup)} (sent ${short(body)})`);
  }));
};

stages.login = async () => {
  await Promise.all(clients.map(async (c) => {
    const connected = c.waitFor('miniplug "connected"', 'mp', 'connected');
    const promise = c.mp.connect({ email: c.email, password: c.password });
    c.attachSocket();
    await step(`${c.label}: mp.connect({email, password}) resolves (login, token, socket ack)`,
      withTimeout(promise, WAIT_MS, 'mp.connect'));
    const [user] = await step(`${c.label}: miniplug emits "connected" with users/me`, connected);
    const me = plain(user);
    must(`${c.label}: users/me is the signed-up account`,
      me && Number.isInteger(me.id) && me.id > 0 && me.username === c.username && me.guest === false,
      me);
    check(`${c.label}: users/me has level 1 and avatar base01`, me.level === 1 && me.avatarID === 'base01', me);
    const acks = c.raw(0, 'ack');
    const ackSlugs = c.since(0, 'ws', 'ack').map((ev) => ev.args[1]);
    check(`${c.label}: socket ack payload is the string "1" with slug "dashboard"`,
      acks.length === 1 && acks[0] === '1' && ackSlugs[0] === 'dashboard',
      { acks, slugs: ackSlugs });
  }));
  const ids = clients.map((c) => c.id);
  must('three distinct user ids', new Set(ids).size === 3, ids);
};

stages.room = async () => {
  const suffix = crypto.randomBytes(2).toString('hex');
  const name = `Compat Lounge ${suffix}`;
  const created = plain(await step('ada: createRoom(name) succeeds', ada.mp.createRoom(name)));
  must('createRoom answers {id, name, slug}',
    created && sameJSON(sortedKeys(created), ['id', 'name', 'slug']) && Number.isInteger(created.id) &&
    created.name === name && typeof created.slug === 'string', created);
  check(`room slug is derived from the name ("${slugify(name)}")`, created.slug === slugify(name), created);
  ctx.slug = created.slug;
  ctx.roomId = created.id;

  const room = plain(await step('ada: join(slug) succeeds and loads rooms/state', ada.mp.join(ctx.slug)));
  check('ada: room meta names ada as host, population 1',
    room && room.slug === ctx.slug && room.id === ctx.roomId && room.hostID === ada.id &&
    room.hostName === ada.username && room.population === 1, room);
  check('ada: rooms/state lists nobody else', ada.mp.users().length === 0, plain(ada.mp.users()));

  for (const joiner of [bram, cleo]) {
    const marks = clients.map((c) => c.mark());
    const already = clients.filter((c) => c !== joiner && c.mp.room());
    const joined = plain(await step(`${joiner.label}: join(slug) succeeds`, joiner.mp.join(ctx.slug)));
    check(`${joiner.label}: room meta is the new room`,
      joined && joined.slug === ctx.slug && joined.population === already.length + 1, joined);
    const listed = joiner.mp.users().map((u) => u.id).sort();
    check(`${joiner.label}: rooms/state users are the others present (caller excluded)`,
      sameJSON(listed, already.map((c) => c.id).sort()), listed);
    await Promise.all(already.map(async (other) => {
      const [user] = await step(`${other.label} receives userJoin for ${joiner.label}`,
        other.waitFor(`userJoin(${joiner.label})`, 'mp', 'userJoin', (u) => u.id === joiner.id,
          { since: marks[clients.indexOf(other)] }));
      const u = plain(user);
      check(`${other.label}: userJoin carries ${joiner.label}'s RoomUser`,
        u.username === joiner.username && u.role === 0 && u.guest === false && u.level === 1, u);
      check(`${other.label}: miniplug lists ${joiner.label} in users()`,
        other.mp.users().some((x) => x.id === joiner.id), plain(other.mp.users()));
    }));
    check(`${joiner.label}: no userJoin about itself (D18)`,
      joiner.raw(marks[clients.indexOf(joiner)], 'userJoin').every((u) => u.id !== joiner.id),
      joiner.raw(marks[clients.indexOf(joiner)], 'userJoin'));
  }
};

async function expectChat (sender, text, send, rawText) {
  const marks = clients.map((c) => c.mark());
  const echo = await step(`${sender.label}: ${send === 'emote' ? 'emote' : 'chat'}(${short(text)}) resolves on its echo`,
    withTimeout(send === 'emote' ? sender.mp.emote(text) : sender.mp.chat(text), WAIT_MS, 'chat echo'));
  const expected = send === 'emote' ? `/me ${text}` : text;
  check(`${sender.label}: echoed message is its own`, echo && echo.uid === sender.id && echo.message === expected,
    plain(echo));
  await Promise.all(othersOf(sender).map(async (other) => {
    const [msg] = await step(`${other.label} receives ${sender.label}'s chat`,
      other.waitFor(`chat from ${sender.label}`, 'mp', 'chat',
        (m) => m.uid === sender.id && m.message === expected, { since: marks[clients.indexOf(other)] }));
    const raw = other.raw(marks[clients.indexOf(other)], 'chat').find((p) => p.uid === sender.id);
    check(`${other.label}: chat payload is exactly {cid, message, sub, uid, un} (D19)`,
      raw && sameJSON(sortedKeys(raw), ['cid', 'message', 'sub', 'uid', 'un']), raw);
    check(`${other.label}: chat cid is "<uid>-<ms>", un is the sender's name`,
      raw && new RegExp(`^${sender.id}-[0-9]+$`).test(raw.cid) && raw.un === sender.username &&
      msg.user && msg.user.id === sender.id, raw);
    if (rawText !== undefined) {
      check(`${other.label}: chat text arrives HTML-escaped`, raw && raw.message === rawText, raw);
    }
  }));
}

stages.chat = async () => {
  await expectChat(bram, 'hello from bram', 'chat');
  await expectChat(ada, 'Tom & Jerry <3 "quotes" and \'apostrophes\'', 'chat',
    'Tom &amp; Jerry &lt;3 &#34;quotes&#34; and &#39;apostrophes&#39;');
  await expectChat(cleo, 'waves at everyone', 'emote');
};

function ids (list) {
  return (list || []).map((m) => m.id);
}
function cids (list) {
  return (list || []).map((m) => m.cid);
}

stages.playlists = async () => {
  ctx.X = media('rplgCmpX001', 'Three Second Opener', 3);
  ctx.Y = media('rplgCmpY002', 'Three Second Second', 3);
  const Z = media('rplgCmpZ003', 'Removed Later', 2);
  ctx.W = media('rplgCmpW004', 'Two Second Turn', 2);
  ctx.V = media('rplgCmpV005', 'Two Second Spare', 2);
  const Q = media('rplgCmpQ006', 'Short Lived', 2);

  const adaEdits = async () => {
    const created = plain(await step('ada: createPlaylist("Openers")', ada.mp.createPlaylist('Openers')));
    const pl = created && created[0];
    must('ada: first playlist is active and empty',
      pl && Number.isInteger(pl.id) && pl.name === 'Openers' && pl.active === true && pl.count === 0, created);
    ctx.adaPl = pl.id;
    let list = plain(await step('ada: insertMedia([X, Y]) (append)', ada.mp.insertMedia(pl.id, [ctx.X, ctx.Y])));
    must('ada: insert answers the full list with new ids',
      sameJSON(cids(list), [ctx.X.cid, ctx.Y.cid]) && list.every((m) => Number.isInteger(m.id) && m.id > 0) &&
      list[0].duration === 3, list);
    list = plain(await step('ada: insertMedia([Z], false) (prepend)', ada.mp.insertMedia(pl.id, [Z], false)));
    must('ada: prepend puts Z first', sameJSON(cids(list), [Z.cid, ctx.X.cid, ctx.Y.cid]), list);
    const zId = list[0].id;
    list = plain(await step('ada: moveMedia([Z], -1) (to the end)', ada.mp.moveMedia(pl.id, [zId], -1)));
    check('ada: move answers the new order X, Y, Z', sameJSON(cids(list), [ctx.X.cid, ctx.Y.cid, Z.cid]), list);
    list = plain(await step('ada: deleteMedia([Z])', ada.mp.deleteMedia(pl.id, [zId])));
    must('ada: delete answers the remaining X, Y', sameJSON(cids(list), [ctx.X.cid, ctx.Y.cid]), list);
    ctx.xId = list[0].id;
    ctx.yId = list[1].id;
    const second = plain(await step('ada: createPlaylist("Later")', ada.mp.createPlaylist('Later')));
    check('ada: a second playlist starts inactive', second && second[0] && second[0].active === false, second);
  };

  const bramEdits = async () => {
    const created = plain(await step('bram: createPlaylist("Turns")', bram.mp.createPlaylist('Turns')));
    const pl = created && created[0];
    must('bram: playlist created', pl && Number.isInteger(pl.id) && pl.active === true, created);
    ctx.bramPl = pl.id;
    let list = plain(await step('bram: insertMedia([V, W])', bram.mp.insertMedia(pl.id, [ctx.V, ctx.W])));
    must('bram: insert answers V, W', sameJSON(cids(list), [ctx.V.cid, ctx.W.cid]), list);
    const [vId, wId] = ids(list);
    list = plain(await step('bram: moveMedia([W], before V)', bram.mp.moveMedia(pl.id, [wId], vId)));
    must('bram: move answers W, V', sameJSON(ids(list), [wId, vId]), list);
    ctx.wId = wId;
    ctx.vId = vId;
    await step('bram: renamePlaylist("Bram\'s turns")', bram.mp.renamePlaylist(pl.id, 'Bram\'s turns'));
    const pls = plain(await step('bram: getPlaylists()', bram.mp.getPlaylists()));
    check('bram: playlist shows the new name, count 2, active',
      pls.length === 1 && pls[0].id === pl.id && pls[0].name === 'Bram\'s turns' && pls[0].count === 2 &&
      pls[0].active === true, pls);
  };

  const cleoEdits = async () => {
    const one = plain(await step('cleo: createPlaylist("Grabs")', cleo.mp.createPlaylist('Grabs')));
    const two = plain(await step('cleo: createPlaylist("Scratch")', cleo.mp.createPlaylist('Scratch')));
    must('cleo: two playlists, first active', one[0].active === true && two[0].active === false, { one, two });
    ctx.cleoGrabPl = one[0].id;
    const scratch = two[0].id;
    const list = plain(await step('cleo: insertMedia([Q]) into Scratch', cleo.mp.insertMedia(scratch, [Q])));
    must('cleo: insert answers Q', sameJSON(cids(list), [Q.cid]), list);
    const updated = plain(await step('cleo: updateMedia(Q, author, title)',
      cleo.mp.updateMedia(scratch, list[0].id, 'New Author', 'New Title')));
    check('cleo: update answers {author, title}',
      updated && updated.author === 'New Author' && updated.title === 'New Title', updated);
    const act = plain(await step('cleo: activatePlaylist(Scratch)', cleo.mp.activatePlaylist(scratch)));
    check('cleo: activate answers [{activated: id}]', sameJSON(act, [{ activated: scratch }]), act);
    const pls = plain(await step('cleo: getPlaylists()', cleo.mp.getPlaylists()));
    const byId = Object.fromEntries(pls.map((p) => [p.id, p]));
    check('cleo: only Scratch is active; counts 0 and 1',
      byId[ctx.cleoGrabPl] && byId[ctx.cleoGrabPl].active === false && byId[ctx.cleoGrabPl].count === 0 &&
      byId[scratch] && byId[scratch].active === true && byId[scratch].count === 1, pls);
    const media = plain(await step('cleo: getMedia(Scratch)', cleo.mp.getMedia(scratch)));
    check('cleo: the media shows the updated author and title',
      media.length === 1 && media[0].author === 'New Author' && media[0].title === 'New Title', media);
  };

  await Promise.all([adaEdits(), bramEdits(), cleoEdits()]);
  // Let every client's miniplug request queue drain so its back-off restarts
  // at zero: the booth phase has to act within one 3-second play.
  await sleep(MINIPLUG_MAX_BACKOFF_MS + 200);
};

stages.booth = async () => {
  const marks = clients.map((c) => c.mark());
  ctx.play1Marks = marks;
  await step('ada: joinWaitlist() with an empty booth', ada.mp.joinWaitlist());
  const adv = await Promise.all(clients.map((c, i) => step(`${c.label} receives advance to ada`,
    c.waitRaw('advance to ada', 'advance', (p) => p && p.c === ada.id, { since: marks[i] }))));
  ctx.play1At = Date.now();
  const p = adv[0];
  ctx.play1 = p;
  must('advance payload has c, d, h, m, p, t',
    p && sameJSON(sortedKeys(p), ['c', 'd', 'h', 'm', 'p', 't']), p);
  check('advance: h is a UUID v4, t a server timestamp with 6 decimals',
    UUID_V4.test(p.h) && TIMESTAMP.test(p.t), p);
  check('advance: m is ada\'s first item X, p her playlist, d empty',
    p.m && p.m.id === ctx.xId && p.m.cid === ctx.X.cid && p.m.duration === 3 && p.p === ctx.adaPl &&
    sameJSON(p.d, []), p);
  check('advance: media has the seven Media keys',
    sameJSON(sortedKeys(p.m), ['author', 'cid', 'duration', 'format', 'id', 'image', 'title']), p.m);
  check('all clients got the same advance', adv.every((a) => sameJSON(a, p)), adv);
  for (const c of clients) {
    check(`${c.label}: miniplug dj() is ada and media() is X, historyEntry().id is h`,
      c.mp.dj() && c.mp.dj().id === ada.id && c.mp.media() && c.mp.media().cid === ctx.X.cid &&
      c.mp.historyEntry().id === p.h, { dj: plain(c.mp.dj()), media: plain(c.mp.media()) });
  }
  check('no djListUpdate for a join into the empty booth',
    clients.every((c, i) => c.raw(marks[i], 'djListUpdate').length === 0),
    clients.map((c, i) => c.raw(marks[i], 'djListUpdate')));

  // Everything below must happen while the 3-second play runs: start all of
  // it at once (each miniplug client queues its own REST calls).
  const bramMark = clients.map((c) => c.mark());
  const hid = cleo.mp.historyEntry().id;
  ctx.actions = {
    bramJoin: bram.mp.joinWaitlist(),
    bramWoot: bram.mp.woot(),
    cleoMeh: cleo.mp.meh(),
    cleoWoot: cleo.mp.woot(),
    cleoGrab: cleo.mp.grab(ctx.cleoGrabPl, hid),
    adaWoot: ada.mp.woot()
  };
  for (const promise of Object.values(ctx.actions)) promise.catch(() => {});

  await step('bram: joinWaitlist() while ada plays', ctx.actions.bramJoin);
  await Promise.all([ada, cleo].map((c) => step(`${c.label} receives djListUpdate [bram]`,
    c.waitRaw('djListUpdate [bram]', 'djListUpdate', (d) => sameJSON(d, [bram.id]),
      { since: bramMark[clients.indexOf(c)] }))));
  await Promise.all([ada, cleo].map((c) => step(`${c.label}: miniplug emits waitlistUpdate [bram]`,
    c.waitFor('waitlistUpdate [bram]', 'mp', 'waitlistUpdate',
      (wl) => sameJSON(wl.map((u) => u.id), [bram.id]), { since: bramMark[clients.indexOf(c)] }))));
  check('ada and cleo: waitlist() is [bram]',
    [ada, cleo].every((c) => sameJSON(c.mp.waitlist().map((u) => u.id), [bram.id])),
    [ada, cleo].map((c) => c.mp.waitlist().map((u) => u.id)));
};

stages.votes = async () => {
  const marks = ctx.play1Marks;
  await step('bram: woot() accepted', ctx.actions.bramWoot);
  await step('cleo: meh() accepted', ctx.actions.cleoMeh);
  await step('cleo: woot() (change of vote) accepted', ctx.actions.cleoWoot);
  await step('ada (the DJ): woot() answers 200 (D29)', ctx.actions.adaWoot);
  await Promise.all(clients.map(async (c, i) => {
    await step(`${c.label} receives vote {i: bram, v: 1}`, c.waitFor('vote from bram', 'mp', 'vote',
      (v) => v.user.id === bram.id && v.vote === 1, { since: marks[i] }));
    await step(`${c.label} receives vote {i: cleo, v: 1} after cleo's change`, c.waitFor('woot from cleo',
      'mp', 'vote', (v) => v.user.id === cleo.id && v.vote === 1, { since: marks[i] }));
    const cleoVotes = c.raw(marks[i], 'vote').filter((v) => v.i === cleo.id).map((v) => v.v);
    check(`${c.label}: cleo's votes arrive in order meh, woot`, sameJSON(cleoVotes, [-1, 1]), cleoVotes);
    const raw = c.raw(marks[i], 'vote')[0];
    check(`${c.label}: vote payload is {i, v}`, raw && sameJSON(sortedKeys(raw), ['i', 'v']), raw);
  }));
};

stages.grab = async () => {
  const marks = ctx.play1Marks;
  const pl = plain(await step('cleo: grab(playlist, historyID) accepted', ctx.actions.cleoGrab));
  check('cleo: grab answers the target playlist with count 1',
    pl && pl.id === ctx.cleoGrabPl && pl.count === 1, pl);
  await Promise.all(clients.map((c, i) => step(`${c.label} receives grab from cleo`,
    c.waitFor('grab from cleo', 'mp', 'grab', (u) => u.id === cleo.id, { since: marks[i] }))));
  check('grab payload is cleo\'s id (an integer)',
    clients.every((c, i) => sameJSON(c.raw(marks[i], 'grab'), [cleo.id])),
    clients.map((c, i) => c.raw(marks[i], 'grab')));
  for (const c of clients) {
    const score = c.mp.score();
    check(`${c.label}: miniplug score() is 2 woots, 0 mehs, 1 grab`,
      score.positive === 2 && score.negative === 0 && score.grabs === 1, score);
  }
  const media = plain(await step('cleo: getMedia(grab playlist)', cleo.mp.getMedia(ctx.cleoGrabPl)));
  check('cleo: the grabbed media X is in the playlist',
    media.length === 1 && media[0].cid === ctx.X.cid && media[0].duration === 3, media);
};

stages.advance = async () => {
  const marks = ctx.play1Marks;
  const adv = await Promise.all(clients.map((c, i) => step(`${c.label} receives the automatic advance to bram`,
    c.waitRaw('advance to bram', 'advance', (p) => p && p.c === bram.id, { since: marks[i] }))));
  const p = adv[0];
  ctx.play2 = p;
  ctx.play2Marks = clients.map((c) => c.mark());
  const elapsed = parseServerTime(p.t) - parseServerTime(ctx.play1.t);
  check('play 1 (3 s) ended on time: 3.0 s <= next start - start <= 4.5 s',
    elapsed >= 2990 && elapsed <= 4500, `${elapsed} ms between ${ctx.play1.t} and ${p.t}`);
  check('advance: new history id, bram plays W from his playlist',
    UUID_V4.test(p.h) && p.h !== ctx.play1.h && p.m && p.m.id === ctx.wId && p.m.cid === ctx.W.cid &&
    p.p === ctx.bramPl, p);
  check('advance: d is [ada] (DJ cycle put ada back in line)', sameJSON(p.d, [ada.id]), p);
  check('all clients got the same advance', adv.every((a) => sameJSON(a, p)), adv);
  for (const c of clients) {
    check(`${c.label}: miniplug dj() is bram, waitlist() is [ada], votes reset`,
      c.mp.dj() && c.mp.dj().id === bram.id && sameJSON(c.mp.waitlist().map((u) => u.id), [ada.id]) &&
      c.mp.score().positive === 0 && c.mp.score().grabs === 0,
      { dj: plain(c.mp.dj()), waitlist: c.mp.waitlist().map((u) => u.id), score: c.mp.score() });
    const [entry, previous] = (c.since(marks[clients.indexOf(c)], 'mp', 'advance')
      .find((ev) => ev.args[0] && ev.args[0].user.id === bram.id) || { args: [] }).args;
    check(`${c.label}: miniplug "advance" passes the previous play (ada, X)`,
      entry && previous && previous.id === ctx.play1.h && previous.media.cid === ctx.X.cid,
      { entry: plain(entry), previous: plain(previous) });
  }
  const adaVotes = clients.map((c, i) => c.raw(marks[i], 'vote').filter((v) => v.i === ada.id));
  check('the DJ\'s own woot sent no vote event (D29)', adaVotes.every((l) => l.length === 0), adaVotes);

  const history = plain(await step('cleo: getRoomHistory()', cleo.mp.getRoomHistory()));
  const first = history[0];
  // The request is made early in play 2; accept play 3 in case it was slow.
  check('history lists the play in progress first (D16)',
    first && (first.id === ctx.play2.h || (first.user.id === ada.id && first.media.cid === ctx.Y.cid)),
    history.slice(0, 2));
  const e1 = history.find((e) => e.id === ctx.play1.h);
  check('history entry of play 1: ada, X, 2 woots, 0 mehs, 1 grab, 2 listeners, not skipped',
    e1 && e1.user.id === ada.id && e1.media.cid === ctx.X.cid && e1.score && e1.score.positive === 2 &&
    e1.score.negative === 0 && e1.score.grabs === 1 && e1.score.listeners === 2 && e1.score.skipped === 0 &&
    e1.room && e1.room.slug === ctx.slug && e1.room.private === false, e1 || history);
};

stages.playlistCycle = async () => {
  const marks = ctx.play1Marks;
  const [id] = await step('ada (DJ of play 1) receives playlistCycle', ada.waitFor('playlistCycle', 'mp',
    'playlistCycle', () => true, { since: marks[0] }));
  check('playlistCycle carries ada\'s playlist id', id === ctx.adaPl, id);
  const list = plain(await step('ada: getMedia(playlist) after the cycle', ada.mp.getMedia(ctx.adaPl)));
  check('ada\'s playlist now reads Y, X (played item moved to the end)',
    sameJSON(ids(list), [ctx.yId, ctx.xId]), list);

  // Play 2 (bram, 2 s) ends by itself too: ada plays Y next, bram goes back in line.
  const m2 = ctx.play2Marks;
  const adv = await Promise.all(clients.map((c, i) => step(`${c.label} receives the advance to ada (Y)`,
    c.waitRaw('advance to ada (Y)', 'advance', (p) => p && p.c === ada.id, { since: m2[i] }))));
  const p = adv[0];
  ctx.play3 = p;
  ctx.play3Marks = clients.map((c) => c.mark());
  check('advance: ada plays Y from the cycled playlist, d is [bram]',
    p.m && p.m.id === ctx.yId && p.p === ctx.adaPl && sameJSON(p.d, [bram.id]), p);
  const elapsed = parseServerTime(p.t) - parseServerTime(ctx.play2.t);
  check('play 2 (2 s) ended on time: 2.0 s <= next start - start <= 3.5 s',
    elapsed >= 1990 && elapsed <= 3500, `${elapsed} ms between ${ctx.play2.t} and ${p.t}`);
  const [bid] = await step('bram (DJ of play 2) receives playlistCycle', bram.waitFor('playlistCycle', 'mp',
    'playlistCycle', () => true, { since: m2[1] }));
  check('bram\'s playlistCycle carries his playlist id', bid === ctx.bramPl, bid);
  check('playlistCycle goes to the DJ only, once per play',
    cleo.raw(0, 'playlistCycle').length === 0 && bram.raw(0, 'playlistCycle').length === 1 &&
    ada.raw(0, 'playlistCycle').length === 1,
    { cleo: cleo.raw(0, 'playlistCycle'), bram: bram.raw(0, 'playlistCycle'), ada: ada.raw(0, 'playlistCycle') });
  const slugs = clients.flatMap((c) => c.since(0, 'ws', 'playlistCycle').map((ev) => ev.args[1]));
  check('playlistCycle is stamped with the room slug', slugs.every((s) => s === ctx.slug), slugs);
};

stages.leave = async () => {
  // Empty the booth: bram leaves the line, ada steps down while playing Y.
  const marks = clients.map((c) => c.mark());
  await step('bram: leaveWaitlist()', bram.mp.leaveWaitlist());
  await step('ada: leaveWaitlist() as the current DJ', ada.mp.leaveWaitlist());
  const empties = await Promise.all(clients.map((c, i) => step(`${c.label} receives the empty advance`,
    c.waitRaw('advance {}', 'advance', (p) => !p || !p.m, { since: marks[i] }))));
  check('the empty advance payload is {} (D14)', empties.every((p) => sameJSON(p, {})), empties);
  for (const c of clients) {
    check(`${c.label}: miniplug dj() is null and waitlist() empty`,
      c.mp.dj() === null && c.mp.waitlist().length === 0,
      { dj: plain(c.mp.dj()), waitlist: c.mp.waitlist().map((u) => u.id) });
  }
  // cleo moves to a room of her own: the others see her leave.
  const m2 = clients.map((c) => c.mark());
  const other = plain(await step('cleo: createRoom("Cleo Corner …")',
    cleo.mp.createRoom(`Cleo Corner ${crypto.randomBytes(2).toString('hex')}`)));
  ctx.otherSlug = other && other.slug;
  const room = plain(await step('cleo: join(her own room)', cleo.mp.join(other.slug)));
  check('cleo: room() is her new room', room && room.slug === other.slug && room.population === 1, room);
  await Promise.all([ada, bram].map(async (c) => {
    const [user] = await step(`${c.label} receives userLeave for cleo`,
      c.waitFor('userLeave(cleo)', 'mp', 'userLeave', (u) => u.id === cleo.id, { since: m2[clients.indexOf(c)] }));
    check(`${c.label}: userLeave payload is cleo's id; users() drops her`,
      user && sameJSON(c.raw(m2[clients.indexOf(c)], 'userLeave'), [cleo.id]) &&
      !c.mp.users().some((u) => u.id === cleo.id), c.raw(m2[clients.indexOf(c)], 'userLeave'));
  }));
  const adv = clients.map((c, i) => c.raw(marks[i], 'advance'));
  check('no play started after the booth emptied',
    adv.every((l) => l.length > 0 && !(l[l.length - 1] && l[l.length - 1].m)), adv);
};

stages.protocol = async () => {
  // A heartbeat "h" every 10 s: wait until each socket has been open long enough.
  await Promise.all(clients.map(async (c) => {
    const deadline = (c.socketOpenedAt || Date.now()) + 12000;
    while (!c.frames.some((f) => f.data === 'h') && Date.now() < deadline) await sleep(100);
    const beats = c.frames.filter((f) => f.data === 'h').map((f) => f.at - c.socketOpenedAt);
    check(`${c.label}: heartbeat "h" received within 12 s of opening`, beats.length > 0 && beats[0] <= 12000,
      `heartbeats at ${short(beats)} ms after open`);
  }));
  for (const c of clients) {
    const bad = [];
    for (const f of c.frames) {
      if (f.data === 'h') continue;
      let parsed;
      try {
        parsed = JSON.parse(f.data);
      } catch (e) {
        bad.push(`not JSON: ${short(f.data, 120)}`);
        continue;
      }
      if (!Array.isArray(parsed) || parsed.length !== 1) {
        bad.push(`not a one-event array: ${short(f.data, 160)}`);
        continue;
      }
      const ev = parsed[0];
      if (!ev || typeof ev.a !== 'string' || !('p' in ev) || typeof ev.s !== 'string') {
        bad.push(`event without a/p/s: ${short(f.data, 160)}`);
      }
    }
    check(`${c.label}: every frame is "h" or [{a, p, s}] with one event (D10)`, bad.length === 0, bad.slice(0, 5));
  }
  const ROOM_EVENTS = ['advance', 'chat', 'vote', 'grab', 'djListUpdate', 'userJoin', 'userLeave'];
  const wrong = [];
  for (const c of clients) {
    for (const ev of c.events) {
      const okSlug = ev.args[1] === ctx.slug || (c === cleo && ev.args[1] === ctx.otherSlug);
      if (ev.src === 'ws' && ROOM_EVENTS.includes(ev.name) && !okSlug) {
        wrong.push(`${c.label} ${ev.name} s=${ev.args[1]}`);
      }
    }
  }
  check('room events are stamped with the room slug', wrong.length === 0, wrong.slice(0, 8));
  for (const c of clients) {
    check(`${c.label}: socket stayed open, no killSession, no miniplug error`,
      c.closed === null && c.since(0, 'ws', 'killSession').length === 0 &&
      c.since(0, 'mp', 'error').length === 0 && c.since(0, 'mp', 'disconnected').length === 0,
      { closed: c.closed, errors: c.since(0, 'mp', 'error').map((ev) => String(ev.args[0])) });
  }
  const shim = globalThis.__replugShim;
  check('the shim rewrote all three sockets to the local server, Origin https://plug.dj kept',
    shim.sockets.length === 3 && shim.sockets.every((s) =>
      s.from === 'wss://ws-prod.plug.dj:443/socket' && s.to === `ws://127.0.0.1:${PORT}/socket` &&
      s.origin === 'https://plug.dj'), shim.sockets);
  check('nothing tried to reach another host', shim.blocked.length === 0, shim.blocked);
};

// --- runner ------------------------------------------------------------------------

function finish (code) {
  report.durationMs = Date.now() - T0;
  report.shim = globalThis.__replugShim;
  for (const name of PHASES) {
    const ph = report.phases[name];
    ph.ok = ph.done && ph.checks.length > 0 && ph.checks.every((c) => c.ok);
  }
  report.ok = !report.fatal && PHASES.every((name) => report.phases[name].ok);
  const text = JSON.stringify(report, null, 2);
  if (REPORT_PATH) fs.writeFileSync(REPORT_PATH, text);
  process.stdout.write(text + '\n');
  const failed = PHASES.filter((name) => !report.phases[name].ok);
  if (report.ok) {
    log(`PASS: all ${PHASES.length} phases passed in ${(report.durationMs / 1000).toFixed(1)} s`);
  } else {
    log(`FAIL: ${failed.join(', ')}${report.fatal ? ` -- stopped at ${report.fatal.phase}: ${report.fatal.message}` : ''}`);
  }
  for (const c of clients) c.close();
  process.exit(code === undefined ? (report.ok ? 0 : 1) : code);
}

process.on('unhandledRejection', (err) => {
  report.warnings.push(`unhandled rejection: ${describeError(err)}`);
});
process.on('uncaughtException', (err) => {
  report.fatal = { phase: currentPhase, message: `uncaught exception: ${describeError(err)}`, stack: err && err.stack };
  finish(1);
});

const watchdog = setTimeout(() => {
  report.fatal = { phase: currentPhase, message: `the whole run exceeded ${TOTAL_MS} ms` };
  finish(1);
}, TOTAL_MS);
watchdog.unref();

(async () => {
  log(`miniplug ${report.miniplug} against ${HOST}`);
  for (const name of PHASES) {
    currentPhase = name;
    log(`phase ${name}`);
    try {
      await stages[name]();
      report.phases[name].done = true;
    } catch (err) {
      if (!err || !err.recorded) check('no unexpected error', false, describeError(err));
      report.fatal = { phase: name, message: describeError(err), stack: err && err.stack };
      break;
    }
  }
  finish();
})();
