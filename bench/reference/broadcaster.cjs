'use strict';
// A bare WebSocket broadcaster: the reference point of Replug's benchmark (bench/README.md).
//
// It speaks just enough of Replug's socket protocol for the same load generator to drive it:
//   client -> {"a":"auth","p":<anything>,"t":0}   server -> [{"a":"ack","p":"1","s":"bench"}]
//   client -> {"a":"chat","p":<text>,"t":0}       every authenticated client, sender included,
//            -> [{"a":"chat","p":{"cid":"0-<n>","message":<text>,"sub":0,"uid":0,"un":"bench"},"s":"bench"}]
// No rooms, no rate limits, no escaping, no heartbeat: one frame per event, built once and
// written to every client. Anything else a client sends is ignored.
//
// usage: node broadcaster.cjs [--host 127.0.0.1] [--port 0] [--mode prebuilt|send]
//   --mode prebuilt (default): the frame (header + JSON) is built once into one Buffer with
//                   ws's own Sender.frame and that same Buffer is written to each client's
//                   socket: one write per client, nothing per client but the write.
//   --mode send:    ws's public API, client.send(sameBuffer) per client (ws then builds a
//                   2-byte header per client and writes header + shared payload).
// It prints "listening <port>" on stdout once it accepts connections.

const { WebSocketServer, WebSocket } = require('ws');

function option(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 && index + 1 < process.argv.length ? process.argv[index + 1] : fallback;
}

const host = option('host', '127.0.0.1');
const port = Number(option('port', '0'));
const mode = option('mode', 'prebuilt');
if (host !== '127.0.0.1' && host !== 'localhost' && host !== '::1') {
  // The benchmark only ever runs on the loopback interface.
  console.error('broadcaster: refusing to listen on a non-loopback address');
  process.exit(2);
}
if (mode !== 'prebuilt' && mode !== 'send') {
  console.error(`broadcaster: unknown --mode ${mode}`);
  process.exit(2);
}

const ACK = Buffer.from('[{"a":"ack","p":"1","s":"bench"}]');
const FRAME_OPTIONS = { fin: true, rsv1: false, opcode: 0x01, mask: false, readOnly: true };
const clients = new Set();
let sequence = 0;

function prebuiltFrame(payload) {
  const parts = WebSocket.Sender.frame(payload, FRAME_OPTIONS);
  return parts.length === 1 ? parts[0] : Buffer.concat(parts);
}

function broadcast(text) {
  sequence += 1;
  const payload = Buffer.from(
    JSON.stringify([
      {
        a: 'chat',
        p: { cid: `0-${sequence}`, message: text, sub: 0, uid: 0, un: 'bench' },
        s: 'bench',
      },
    ]),
  );
  if (mode === 'send') {
    for (const client of clients) client.send(payload, { binary: false });
    return;
  }
  const frame = prebuiltFrame(payload);
  for (const client of clients) {
    if (client.readyState === WebSocket.OPEN) client._socket.write(frame);
  }
}

const server = new WebSocketServer({
  host,
  port,
  backlog: 4096,
  perMessageDeflate: false,
  clientTracking: false,
  maxPayload: 16 * 1024,
});

server.on('connection', (client) => {
  let authenticated = false;
  client.on('message', (data, isBinary) => {
    if (isBinary) return;
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    if (message === null || typeof message !== 'object') return;
    if (message.a === 'auth' && !authenticated) {
      authenticated = true;
      clients.add(client);
      client.send(ACK, { binary: false });
    } else if (message.a === 'chat' && authenticated) {
      const text = message.p;
      if (typeof text === 'string' || typeof text === 'number') broadcast(String(text));
    }
  });
  client.on('close', () => clients.delete(client));
  client.on('error', () => clients.delete(client));
});

server.on('listening', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});

function stop() {
  for (const client of clients) client.terminate();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
