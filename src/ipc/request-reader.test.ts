/**
 * The UAPI stream splitter: the same byte stream cut at every possible place must yield the same
 * requests, and the cases wireguard-go's IpcHandle treats specially (bad get, unknown operation, EOF in
 * a set) come out as it handles them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RequestReader, type UapiRequest } from './request-reader.js';

function drain(r: RequestReader): UapiRequest[] {
  const out: UapiRequest[] = [];
  for (let q = r.next(); q !== null; q = r.next()) {
    out.push(q);
    if (q.kind === 'invalid' || q.kind === 'overflow') break;
  }
  return out;
}

function readAll(chunks: string[], max?: number): UapiRequest[] {
  const r = new RequestReader(max);
  const out: UapiRequest[] = [];
  for (const c of chunks) {
    r.push(Buffer.from(c, 'latin1'));
    out.push(...drain(r));
    if (out.some((q) => q.kind === 'invalid' || q.kind === 'overflow')) return out;
  }
  const last = r.finish();
  if (last !== null) out.push(last);
  return out;
}

const SET = 'set=1\nprivate_key=' + 'a'.repeat(64) + '\nlisten_port=51820\npublic_key=' + 'b'.repeat(64) + '\nallowed_ip=10.0.0.0/8\n\n';
const STREAM = 'get=1\n\n' + SET + 'set=1\n\n' + 'get=1\n\n';
const EXPECTED: UapiRequest[] = [
  { kind: 'request', text: 'get=1\n\n' },
  { kind: 'request', text: SET },
  { kind: 'request', text: 'set=1\n\n' },
  { kind: 'request', text: 'get=1\n\n' },
];

test('pipelined requests in one chunk', () => {
  assert.deepEqual(readAll([STREAM]), EXPECTED);
});

test('every two-way split of the stream gives the same requests', () => {
  for (let i = 1; i < STREAM.length; i++) {
    assert.deepEqual(readAll([STREAM.slice(0, i), STREAM.slice(i)]), EXPECTED, `split at ${i}`);
  }
});

test('one byte at a time', () => {
  assert.deepEqual(readAll([...STREAM]), EXPECTED);
});

test('a get followed by anything but the empty line is EINVAL, one byte consumed (wireguard-go)', () => {
  // "get=1\n" + "x" consumed; the "\n" left over reads as an empty operation line.
  assert.deepEqual(readAll(['get=1\nx\nget=1\n\n']), [{ kind: 'bad-get' }, { kind: 'invalid', line: '""' }]);
  assert.deepEqual(readAll(['get=1\nx', 'get=1\n\n']), [{ kind: 'bad-get' }, { kind: 'request', text: 'get=1\n\n' }]);
});

test('an unknown operation closes the connection, and its preview stops at "="', () => {
  assert.deepEqual(readAll(['private_key=' + 'c'.repeat(64) + '\n\n']), [{ kind: 'invalid', line: '"private_key"' }]);
  assert.deepEqual(readAll(['get=2\n\n']), [{ kind: 'invalid', line: '"get"' }]);
  assert.deepEqual(readAll(['hello\n']), [{ kind: 'invalid', line: '"hello"' }]);
});

test('an operation line that never ends is invalid once it is longer than any operation', () => {
  const out = readAll(['x'.repeat(100)]);
  assert.equal(out.length, 1);
  assert.equal(out[0]!.kind, 'invalid');
});

test('a set cut by EOF is applied as far as it got', () => {
  assert.deepEqual(readAll(['set=1\nlisten_port=1']), [{ kind: 'request', text: 'set=1\nlisten_port=1\n\n' }]);
  assert.deepEqual(readAll(['set=1\nlisten_port=1\n']), [{ kind: 'request', text: 'set=1\nlisten_port=1\n\n' }]);
  assert.deepEqual(readAll(['get=1\n']), []);
});

test('a request over the limit overflows; one at the limit does not', () => {
  const body = 'set=1\n' + 'listen_port=1\n'.repeat(100) + '\n';
  assert.deepEqual(readAll([body], body.length), [{ kind: 'request', text: body }]);
  const out = readAll([body.slice(0, -1), '\n'], body.length - 2);
  assert.deepEqual(out, [{ kind: 'overflow' }]);
});

test('the buffer shrinks back after a big request', () => {
  const r = new RequestReader();
  const big = 'set=1\n' + 'allowed_ip=10.0.0.0/8\n'.repeat(20000) + '\n';
  r.push(Buffer.from(big + 'get=1\n\n'));
  assert.equal((r.next() as { text: string }).text.length, big.length);
  assert.deepEqual(r.next(), { kind: 'request', text: 'get=1\n\n' });
  assert.equal(r.buffered, 0);
});
