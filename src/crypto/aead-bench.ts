// Cost per packet of sealing and opening 1420-byte packets (and 0-byte, to show the fixed part):
// the native batch through the AeadBatch adapter at batch sizes 1, 16 and 128, against
// src/crypto/aead.ts's sealInPlace / openInPlace. Median of 11 runs. Run: npm run bench:aead
import { randomBytes } from 'node:crypto';
import { AeadBatch, aeadKey, openInPlace, sealInPlace } from './aead.js';
import { openBatchNative, sealBatchNative } from './aead-native.js';
import { native, nativeError } from '../native/load.js';

const RUNS = 11;
const PACKETS = 40_000;

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

function time(fn: () => void, packets: number): number {
  fn(); // warm-up
  const out: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t = process.hrtime.bigint();
    fn();
    out.push(Number(process.hrtime.bigint() - t) / packets);
  }
  return median(out);
}

const key = aeadKey(randomBytes(32));
const slab = new ArrayBuffer(128 * 2048);
const views: Uint8Array[] = [];
for (let i = 0; i < 128; i++) views.push(new Uint8Array(slab, i * 2048, 2048));

function batched(size: number, batch: number, open: boolean): number {
  const b = new AeadBatch(batch);
  for (let i = 0; i < batch; i++) {
    b.keys[i] = key;
    b.bufs[i] = views[i]!;
    b.starts[i] = 16;
  }
  b.count = batch;
  const rounds = Math.ceil(PACKETS / batch);
  let counter = 0;
  // Opens need sealed input: seal each round's packets first and time both, then subtract the seal.
  return time(() => {
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < batch; i++) {
        b.counters[i] = counter++;
        b.lengths[i] = size;
      }
      sealBatchNative(b);
      if (open) {
        for (let i = 0; i < batch; i++) b.lengths[i] = size + 16;
        openBatchNative(b);
      }
    }
  }, rounds * batch);
}

function single(size: number, open: boolean): number {
  let counter = 0;
  const v = views[0]!;
  return time(() => {
    for (let i = 0; i < PACKETS; i++) {
      const c = counter++;
      sealInPlace(key, c, v, 16, size, null);
      if (open) openInPlace(key, c, v, 16, size + 16, null);
    }
  }, PACKETS);
}

if (native === null) {
  console.log(`native shim not loaded: ${nativeError}`);
} else {
  console.log('ns per packet (median of 11); "open" = seal + open minus seal');
  for (const size of [0, 1420]) {
    const js = single(size, false);
    const jsOpen = single(size, true) - js;
    console.log(`${size} B  sealInPlace ${js.toFixed(0)}  openInPlace ${jsOpen.toFixed(0)}`);
    for (const batch of [1, 16, 128]) {
      const seal = batched(size, batch, false);
      const open = batched(size, batch, true) - seal;
      console.log(`${size} B  native batch ${batch}: seal ${seal.toFixed(0)}  open ${open.toFixed(0)}  (seal ${(js / seal).toFixed(1)}x faster)`);
    }
  }
}
