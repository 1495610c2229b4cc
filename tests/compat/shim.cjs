'use strict';
// Preload for the compatibility drivers: `node -r ./shim.cjs driver.cjs`.
//
// miniplug (through plug-socket) always opens its WebSocket at plug.dj's
// production address; it has no option for that. This preload, without
// touching any installed package:
//
//   1. hands every `require('ws')` a subclass of the real `ws` WebSocket whose
//      constructor rewrites any plug.dj address to
//      ws://127.0.0.1:$REPLUG_PORT/<same path>. The options (and so the
//      `Origin: https://plug.dj` header plug-socket asks for) are untouched;
//   2. refuses every outgoing TCP connection to anything but the loopback
//      interface, and every DNS lookup of a plug.dj name, loudly: the error
//      is printed, recorded, and the process exit code is forced non-zero.
//
// What happened is recorded on `globalThis.__replugShim` for the driver's
// report.

const Module = require('module');
const net = require('net');
const dns = require('dns');

const PORT = process.env.REPLUG_PORT;
if (!/^[0-9]{1,5}$/.test(PORT || '')) {
  process.stderr.write('[replug shim] REPLUG_PORT must be set to the port of a local Replug server\n');
  process.exit(2);
}

const BLOCKED_EXIT_CODE = 97;

const state = {
  port: Number(PORT),
  sockets: [], // {from, to, origin}
  blocked: [] // {what, target, stack}
};
Object.defineProperty(globalThis, '__replugShim', { value: state, enumerable: false });

function isPlugHost (hostname) {
  const h = String(hostname || '').toLowerCase().replace(/\.$/, '');
  return h === 'plug.dj' || h.endsWith('.plug.dj');
}

function isLoopback (host) {
  const h = String(host || '').toLowerCase().replace(/^\[|\]$/g, '');
  if (h === '' || h === 'localhost' || h === '::1') return true;
  if (/^127(\.[0-9]{1,3}){3}$/.test(h)) return true;
  if (/^::ffff:127(\.[0-9]{1,3}){3}$/.test(h)) return true;
  return false;
}

function refuse (what, target) {
  const err = new Error(
    `[replug shim] refused ${what} to ${target}: compat tests may only talk to ` +
    `127.0.0.1:${PORT} (nothing may reach plug.dj or any other host)`
  );
  err.code = 'EREPLUGSHIMBLOCKED';
  state.blocked.push({ what, target, stack: new Error().stack.split('\n').slice(2, 8).join('\n') });
  process.stderr.write(err.message + '\n');
  process.exitCode = BLOCKED_EXIT_CODE;
  return err;
}

process.on('exit', (code) => {
  if (state.blocked.length > 0) {
    process.stderr.write(`[replug shim] ${state.blocked.length} outgoing connection attempt(s) were refused\n`);
    if (code === 0) process.exitCode = BLOCKED_EXIT_CODE;
  }
});

// --- 1. WebSocket address rewrite --------------------------------------------

function rewriteAddress (address) {
  let parsed;
  try {
    parsed = new URL(typeof address === 'string' ? address : String(address.href || address));
  } catch (e) {
    return address; // let ws report its own error
  }
  if (!isPlugHost(parsed.hostname)) return address;
  return `ws://127.0.0.1:${PORT}${parsed.pathname || '/socket'}${parsed.search || ''}`;
}

const patchedWs = new WeakMap();

function patchWs (RealWebSocket) {
  if (typeof RealWebSocket !== 'function') return RealWebSocket;
  if (patchedWs.has(RealWebSocket)) return patchedWs.get(RealWebSocket);

  class ReplugShimWebSocket extends RealWebSocket {
    constructor (address, protocols, options) {
      const to = address === null || address === undefined ? address : rewriteAddress(address);
      const opts = (protocols && typeof protocols === 'object' && !Array.isArray(protocols))
        ? protocols
        : options;
      state.sockets.push({
        from: address && String(address.href || address),
        to: to && String(to.href || to),
        origin: opts && opts.origin !== undefined ? opts.origin : null
      });
      super(to, protocols, options);
    }
  }
  patchedWs.set(RealWebSocket, ReplugShimWebSocket);
  return ReplugShimWebSocket;
}

const originalLoad = Module._load;
Module._load = function replugShimLoad (request, parent, isMain) {
  const exported = originalLoad.apply(this, arguments);
  if (request === 'ws') return patchWs(exported);
  return exported;
};

// --- 2. Network guard --------------------------------------------------------

function connectTarget (args) {
  let first = args[0];
  if (Array.isArray(first)) first = first[0]; // net's pre-normalized arguments
  if (first && typeof first === 'object') {
    if (first.path) return { path: String(first.path) };
    return { host: first.host === undefined ? 'localhost' : first.host, port: first.port };
  }
  if (typeof first === 'number' || (typeof first === 'string' && /^[0-9]+$/.test(first))) {
    return { host: typeof args[1] === 'string' ? args[1] : 'localhost', port: first };
  }
  if (typeof first === 'string') return { path: first };
  return null;
}

const originalConnect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function replugShimConnect (...args) {
  const target = connectTarget(args);
  if (target && target.path === undefined && !isLoopback(target.host)) {
    const err = refuse('an outgoing connection', `${target.host}:${target.port}`);
    process.nextTick(() => this.destroy(err));
    return this;
  }
  return originalConnect.apply(this, args);
};

const originalLookup = dns.lookup;
dns.lookup = function replugShimLookup (hostname, ...rest) {
  if (isPlugHost(hostname)) {
    const err = refuse('a DNS lookup', String(hostname));
    const cb = rest[rest.length - 1];
    if (typeof cb === 'function') {
      process.nextTick(() => cb(err));
      return {};
    }
    throw err;
  }
  return originalLookup.call(this, hostname, ...rest);
};

if (dns.promises && typeof dns.promises.lookup === 'function') {
  const originalPromiseLookup = dns.promises.lookup;
  dns.promises.lookup = function replugShimPromiseLookup (hostname, ...rest) {
    if (isPlugHost(hostname)) return Promise.reject(refuse('a DNS lookup', String(hostname)));
    return originalPromiseLookup.call(this, hostname, ...rest);
  };
}
