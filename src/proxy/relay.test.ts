// relay(): bytes both ways, half-close carried across, a side that ended before the relay began, errors
// and premature closes destroying both sides, and backpressure pausing the source. Sides are in-memory
// Duplexes recording what is written to them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Duplex } from 'node:stream';
import { relay } from './relay.js';

interface Side {
  d: Duplex;
  written: string[];
  /** write() calls held back (the destination is "slow"); completed by flush(). */
  held: (() => void)[];
  slow: boolean;
}

function side(highWaterMark = 16 * 1024): Side {
  const s: Side = { d: null as unknown as Duplex, written: [], held: [], slow: false };
  s.d = new Duplex({
    allowHalfOpen: true,
    highWaterMark,
    read() {},
    write(chunk: Buffer, _enc, cb) {
      s.written.push(chunk.toString());
      if (s.slow) s.held.push(() => cb());
      else cb();
    },
  });
  return s;
}

function relayed(a: Side, b: Side): Promise<Error | null> {
  return new Promise((resolve) => relay(a.d, b.d, resolve));
}

test('bytes go both ways; each FIN ends the other side; both ends done is a clean end, both destroyed', { timeout: 5000 }, async () => {
  const a = side();
  const b = side();
  const done = relayed(a, b);
  a.d.push('from a');
  b.d.push('from b');
  a.d.push(null);
  await new Promise((r) => b.d.once('finish', r));
  assert.deepEqual(b.written, ['from a']);
  assert.equal(a.d.writableEnded, false, 'the other direction still runs (half-close)');
  b.d.push('late from b');
  b.d.push(null);
  assert.equal(await done, null);
  assert.deepEqual(a.written, ['from b', 'late from b']);
  assert.ok(a.d.destroyed && b.d.destroyed);
});

test('a side whose FIN came before the relay began still ends the other side', { timeout: 5000 }, async () => {
  const a = side();
  const b = side();
  a.d.push(null);
  a.d.resume();
  await new Promise((r) => a.d.once('end', r));
  a.d.pause();
  const done = relayed(a, b);
  await new Promise((r) => b.d.once('finish', r));
  b.d.push('reply');
  b.d.push(null);
  assert.equal(await done, null);
  assert.deepEqual(a.written, ['reply']);
});

test('an error on one side destroys both and is reported once', { timeout: 5000 }, async () => {
  const a = side();
  const b = side();
  let calls = 0;
  const done = new Promise<Error | null>((resolve) =>
    relay(a.d, b.d, (err) => {
      calls++;
      resolve(err);
    }),
  );
  b.d.destroy(Object.assign(new Error('reset'), { code: 'ECONNRESET' }));
  const err = await done;
  assert.equal((err as NodeJS.ErrnoException).code, 'ECONNRESET');
  assert.ok(a.d.destroyed);
  await new Promise((r) => setImmediate(r));
  assert.equal(calls, 1);
});

test('a side destroyed without an error before both ends is a premature close', { timeout: 5000 }, async () => {
  const a = side();
  const b = side();
  const done = relayed(a, b);
  a.d.destroy();
  const err = await done;
  assert.equal((err as NodeJS.ErrnoException).code, 'ERR_STREAM_PREMATURE_CLOSE');
  assert.ok(b.d.destroyed);
});

test('a destination that stops taking bytes pauses its source until it drains', { timeout: 5000 }, async () => {
  const a = side();
  const b = side(4);
  b.slow = true;
  const done = relayed(a, b);
  a.d.push('0123456789');
  await new Promise((r) => setImmediate(r));
  assert.equal(a.d.isPaused(), true, 'b is over its high-water mark: a is paused');
  b.slow = false;
  for (const f of b.held.splice(0)) f();
  await new Promise((r) => setImmediate(r));
  assert.equal(a.d.isPaused(), false, 'b drained: a flows again');
  a.d.push(null);
  b.d.push(null);
  assert.equal(await done, null);
  assert.deepEqual(b.written, ['0123456789']);
});
