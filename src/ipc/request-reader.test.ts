/**
 * The UAPI stream splitter: the same byte stream cut at every possible place must yield the same
 * requests and the same set lines; the cases wireguard-go's IpcHandle treats specially (bad get, unknown
 * operation, EOF in a set, "\r\n") come out as it handles them; a set of any size passes through a
 * buffer the size of a line, and a line past the bound is reported and skipped, never buffered.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { manyAllowedIPLines } from '../device/_testing.js';
import { RequestReader, type SetLineSink, type UapiRequest } from './request-reader.js';

/** A sink that records what it was given; TOO_LONG marks a reported over-long line. */
class Lines implements SetLineSink {
  readonly got: string[] = [];
  line(text: string): void {
    this.got.push(text);
  }
  lineTooLong(): void {
    this.got.push(TOO_LONG);
  }
}
const TOO_LONG = '<too long>';

type Seen = { kind: 'get' } | { kind: 'bad-get' } | { kind: 'invalid'; line: string } | { kind: 'set'; lines: string[] };

function seen(q: UapiRequest<Lines>): Seen {
  return q.kind === 'set' ? { kind: 'set', lines: q.body.got } : q;
}

/** Feed `chunks` one by one, draining after each; returns the requests and the most ever buffered. */
function readAll(chunks: Array<string | Buffer>, maxLine?: number): { out: Seen[]; peak: number } {
  const r = new RequestReader(() => new Lines(), maxLine);
  const out: Seen[] = [];
  let peak = 0;
  for (const c of chunks) {
    r.push(typeof c === 'string' ? Buffer.from(c, 'latin1') : c);
    for (let q = r.next(); q !== null; q = r.next()) {
      out.push(seen(q));
      if (q.kind === 'invalid') return { out, peak };
    }
    peak = Math.max(peak, r.buffered);
  }
  const last = r.finish();
  if (last !== null) out.push(seen(last));
  return { out, peak };
}
const read = (chunks: Array<string | Buffer>, maxLine?: number): Seen[] => readAll(chunks, maxLine).out;

const KEY_A = 'a'.repeat(64);
const KEY_B = 'b'.repeat(64);
const SET_LINES = [`private_key=${KEY_A}`, 'listen_port=51820', `public_key=${KEY_B}`, 'allowed_ip=10.0.0.0/8'];
const STREAM = 'get=1\n\n' + 'set=1\n' + SET_LINES.join('\n') + '\n\n' + 'set=1\n\n' + 'get=1\n\n';
const EXPECTED: Seen[] = [{ kind: 'get' }, { kind: 'set', lines: SET_LINES }, { kind: 'set', lines: [] }, { kind: 'get' }];

test('pipelined requests in one chunk', () => {
  assert.deepEqual(read([STREAM]), EXPECTED);
});

test('every two-way split of the stream gives the same requests and lines', () => {
  for (let i = 1; i < STREAM.length; i++) {
    assert.deepEqual(read([STREAM.slice(0, i), STREAM.slice(i)]), EXPECTED, `split at ${i}`);
  }
});

test('one byte at a time', () => {
  assert.deepEqual(read([...STREAM]), EXPECTED);
});

test('"\\r\\n" ends a set line as "\\n" does, and "\\r\\n" alone ends the set (wireguard-go drops the "\\r")', () => {
  const crlf = 'set=1\r\nlisten_port=1\r\n\r\nget=1\n\n';
  // The operation line itself must be exact: "set=1\r" is no operation.
  assert.deepEqual(read([crlf]), [{ kind: 'invalid', line: '"set"' }]);
  const body = 'set=1\nlisten_port=1\r\nfwmark=2\r\n\r\nget=1\n\n';
  const want: Seen[] = [{ kind: 'set', lines: ['listen_port=1', 'fwmark=2'] }, { kind: 'get' }];
  for (let i = 1; i < body.length; i++) assert.deepEqual(read([body.slice(0, i), body.slice(i)]), want, `split at ${i}`);
  // A "\r" elsewhere is part of the line.
  assert.deepEqual(read(['set=1\na\rb\n\n']), [{ kind: 'set', lines: ['a\rb'] }]);
});

test('a get followed by anything but the empty line is EINVAL, one byte consumed (wireguard-go)', () => {
  // "get=1\n" + "x" consumed; the "\n" left over reads as an empty operation line.
  assert.deepEqual(read(['get=1\nx\nget=1\n\n']), [{ kind: 'bad-get' }, { kind: 'invalid', line: '""' }]);
  assert.deepEqual(read(['get=1\nx', 'get=1\n\n']), [{ kind: 'bad-get' }, { kind: 'get' }]);
});

test('an unknown operation closes the connection, and its preview stops at "="', () => {
  assert.deepEqual(read(['private_key=' + 'c'.repeat(64) + '\n\n']), [{ kind: 'invalid', line: '"private_key"' }]);
  assert.deepEqual(read(['get=2\n\n']), [{ kind: 'invalid', line: '"get"' }]);
  assert.deepEqual(read(['hello\n']), [{ kind: 'invalid', line: '"hello"' }]);
  assert.deepEqual(read(['get=1\n\nhello\n']), [{ kind: 'get' }, { kind: 'invalid', line: '"hello"' }]);
});

test('an operation line that never ends is invalid once it is longer than any operation', () => {
  const out = read(['x'.repeat(100)]);
  assert.equal(out.length, 1);
  assert.equal(out[0]!.kind, 'invalid');
});

test('a set cut by EOF ends there, its last line taken as it is', () => {
  assert.deepEqual(read(['set=1\nlisten_port=1']), [{ kind: 'set', lines: ['listen_port=1'] }]);
  assert.deepEqual(read(['set=1\nlisten_port=1\r']), [{ kind: 'set', lines: ['listen_port=1'] }]);
  assert.deepEqual(read(['set=1\nlisten_port=1\n']), [{ kind: 'set', lines: ['listen_port=1'] }]);
  assert.deepEqual(read(['set=1\n']), [{ kind: 'set', lines: [] }]);
  assert.deepEqual(read(['get=1\n']), []);
});

test('a line past the bound is reported once and skipped to its end; the set goes on', () => {
  const long = 'allowed_ip=' + '1'.repeat(100);
  const stream = `set=1\nlisten_port=1\n${long}\nfwmark=2\n\nget=1\n\n`;
  const want: Seen[] = [{ kind: 'set', lines: ['listen_port=1', TOO_LONG, 'fwmark=2'] }, { kind: 'get' }];
  assert.deepEqual(read([stream], 64), want);
  for (let i = 1; i < stream.length; i++) assert.deepEqual(read([stream.slice(0, i), stream.slice(i)], 64), want, `split at ${i}`);
  const { out, peak } = readAll([...stream], 64);
  assert.deepEqual(out, want);
  assert.ok(peak <= 65, `buffered ${peak} bytes for a 64-byte bound`);
  // At the bound exactly the line passes; one byte over (CR excluded) it does not.
  assert.deepEqual(read([`set=1\n${'x'.repeat(64)}\r\n${'y'.repeat(65)}\n\n`], 64), [{ kind: 'set', lines: ['x'.repeat(64), TOO_LONG] }]);
  // An over-long line cut by EOF is reported too.
  assert.deepEqual(read([`set=1\n${'z'.repeat(100)}`], 64), [{ kind: 'set', lines: [TOO_LONG] }]);
});

test('a 3 MB set streams through a buffer of about one chunk', () => {
  const lines = manyAllowedIPLines();
  const big = Buffer.from('set=1\n' + `public_key=${KEY_B}\n` + lines.join('\n') + '\n\nget=1\n\n');
  assert.ok(big.length > 3_000_000);
  const chunks: Buffer[] = [];
  const CHUNK = 65536;
  for (let at = 0; at < big.length; at += CHUNK) chunks.push(big.subarray(at, at + CHUNK));
  const { out, peak } = readAll(chunks);
  assert.equal(out.length, 2);
  const set = out[0] as { kind: 'set'; lines: string[] };
  assert.equal(set.lines.length, 1 + 130_560);
  assert.equal(set.lines[130_560], 'allowed_ip=ff::ff/128');
  assert.deepEqual(out[1], { kind: 'get' });
  assert.ok(peak < CHUNK + 100, `buffered ${peak} bytes`);
});

test('bytes behind a finished request wait, and the buffer goes back to its size once they are consumed', () => {
  const r = new RequestReader(() => new Lines());
  const big = 'x'.repeat(1 << 20);
  r.push(Buffer.from('get=1\n\n'));
  r.push(Buffer.from('set=1\n'));
  for (let i = 0; i < 16; i++) r.push(Buffer.from(`fwmark=${i}\n` + big.slice(0, 65536 - 9) + '\n'));
  assert.deepEqual(r.next(), { kind: 'get' }); // the server runs it while the rest waits
  assert.ok(r.buffered > 1 << 20);
  r.push(Buffer.from('\n'));
  const set = r.next();
  assert.equal(set?.kind, 'set');
  assert.equal((set as { body: Lines }).body.got.filter((l) => l === TOO_LONG).length, 16);
  assert.equal(r.buffered, 0);
  assert.ok((r as unknown as { buf: Buffer }).buf.length <= 1 << 16);
});
