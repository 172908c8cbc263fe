/**
 * The handshake flood of `npm run bench`'s flood row: handshake initiations with a valid mac1 and
 * random contents (paper 5.4.2 First Message, 5.4.4 Cookie MACs: anyone who knows a responder's
 * public key can make them, and each makes the responder do its mac1 check and, under load, answer
 * with a cookie reply, 5.4.7), from one address at a steady rate, counting the cookie replies that
 * come back.
 *
 *   node dist/bench/flood.js --to 198.19.0.2:51820 --from 198.19.0.3 --public-key KEY [--rate 50000]
 *
 * Runs until SIGTERM or SIGINT, then prints one JSON line: datagrams sent, seconds, the achieved rate,
 * cookie replies received and their rate. Every message is fresh: new random contents and a new mac1.
 * The sender keeps up by sending a millisecond's worth at a time as one UDP_SEGMENT sendmsg through
 * the native shim (one syscall per ~50 messages; plain sendmmsg where the kernel has no GSO).
 * IPv4 only; needs the shim.
 */
import { randomFillSync } from 'node:crypto';
import { parseArgs } from 'node:util';
import { hash } from '../crypto/blake2s.js';
import { keyFromBase64 } from '../crypto/keys.js';
import { E_INVAL, E_IO, E_OPNOTSUPP, FdPoll, MAX_BATCH, POLL_READABLE, RECV_ADDR_STRIDE, RECV_META_LENGTH, RECV_META_STRIDE, SlabBatch, addressBytes, openUdpSocket, requireNative, setSocketBuffers } from '../native/index.js';
import { COOKIE_REPLY_LEN, INIT_MAC1, INITIATION_LEN, MAC_LEN, MESSAGE_COOKIE_REPLY, MESSAGE_INITIATION, messageType, writeU32 } from '../device/messages.js';

/** The most messages one sendmsg carries: the kernel's UDP_MAX_SEGMENTS. */
const CHUNK = 64;
/** Backlog sent at once after a stall (a GC pause, a busy machine: ~10 ms at 50,000/s); the rest is skipped, not sent late. */
const MAX_CATCH_UP = 8 * CHUNK;

const { values } = parseArgs({
  options: {
    to: { type: 'string' },
    from: { type: 'string' },
    'public-key': { type: 'string' },
    rate: { type: 'string', default: '50000' },
  },
});
if (values.to === undefined || values.from === undefined || values['public-key'] === undefined) {
  console.error('usage: flood.js --to ADDR:PORT --from ADDR --public-key BASE64 [--rate PER_SECOND]');
  process.exit(2);
}
const colon = values.to.lastIndexOf(':');
const dst = addressBytes(4, values.to.slice(0, colon));
const dstPort = Number(values.to.slice(colon + 1));
const rate = Number(values.rate);
const mac1Key = new Uint8Array(32);
hash(mac1Key, new TextEncoder().encode('mac1----'), keyFromBase64(values['public-key']));

const n = requireNative('the flood sender');
const fd = openUdpSocket(4, values.from, 0);
setSocketBuffers(fd, 1 << 20, 4 << 20, `flood from ${values.from}`);

const slab = new Uint8Array(CHUNK * INITIATION_LEN);
const sends = new SlabBatch(CHUNK);
const macInput = new SlabBatch(CHUNK);
for (let j = 0; j < CHUNK; j++) {
  sends.set(j, slab, j * INITIATION_LEN, INITIATION_LEN);
  macInput.set(j, slab, j * INITIATION_LEN, INIT_MAC1);
}
const macs = new Uint8Array(CHUNK * MAC_LEN);
const macResults = new Int32Array(CHUNK);
const recvSlab = new Uint8Array(MAX_BATCH * 2048);
const reads = new SlabBatch(MAX_BATCH);
for (let j = 0; j < MAX_BATCH; j++) reads.set(j, recvSlab, j * 2048, 2048);
const meta = new Int32Array(MAX_BATCH * RECV_META_STRIDE);
const addrs = new Uint8Array(MAX_BATCH * RECV_ADDR_STRIDE);

let sent = 0;
let cookieReplies = 0;
let sendErrors = 0;
let gso = true;

/**
 * Messages 0..m-1 of the slab: type 1, then random bytes (sender index, ephemeral, sealed static and
 * timestamp, and mac2: random rather than the zeros of an initiator without a cookie, so the responder
 * cannot tell it is invalid without computing it), and a valid mac1, all m in one shim call. The
 * sender took ~12% of a core at 50,000 a second on this machine, sends included.
 */
function fill(m: number): void {
  randomFillSync(slab, 0, m * INITIATION_LEN);
  for (let j = 0; j < m; j++) writeU32(slab, j * INITIATION_LEN, MESSAGE_INITIATION);
  n.blake2sMacBatch(mac1Key, macInput.slabs, macInput.slabIndex, macInput.offsets, macInput.sizes, macs, MAC_LEN, macResults, m);
  for (let j = 0; j < m; j++) slab.set(macs.subarray(j * MAC_LEN, (j + 1) * MAC_LEN), j * INITIATION_LEN + INIT_MAC1);
}

function send(m: number): void {
  fill(m);
  const r = n.sendBatch(fd, sends.slabs, sends.slabIndex, sends.offsets, sends.sizes, 0, m, 4, dst, dstPort, null, 0, gso ? INITIATION_LEN : 0, 0);
  if (r > 0) sent += r;
  else if (gso && (r === E_IO || r === E_INVAL || r === E_OPNOTSUPP)) gso = false;
  else sendErrors++;
}

const start = performance.now();
let skipped = 0;
function tick(): void {
  let due = Math.floor((rate * (performance.now() - start)) / 1000) - sent - skipped;
  if (due > MAX_CATCH_UP) {
    skipped += due - MAX_CATCH_UP;
    due = MAX_CATCH_UP;
  }
  while (due > 0) {
    const m = due < CHUNK ? due : CHUNK;
    send(m);
    due -= m;
  }
}
const timer = setInterval(tick, 1);

const poll = new FdPoll(
  fd,
  () => {
    for (;;) {
      const got = n.recvBatch(fd, reads.slabs, reads.slabIndex, reads.offsets, reads.sizes, MAX_BATCH, meta, addrs);
      if (got <= 0) return;
      for (let j = 0; j < got; j++) {
        if (meta[j * RECV_META_STRIDE + RECV_META_LENGTH] === COOKIE_REPLY_LEN && messageType(recvSlab, j * 2048) === MESSAGE_COOKIE_REPLY) cookieReplies++;
      }
    }
  },
  `flood socket ${values.from}`,
);
poll.start(POLL_READABLE);

function stop(): void {
  clearInterval(timer);
  poll.close();
  n.closeFd(fd);
  const seconds = (performance.now() - start) / 1000;
  console.log(JSON.stringify({ sent, seconds, rate: sent / seconds, cookieReplies, cookieRate: cookieReplies / seconds, sendErrors, gso }));
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
