// TAI64N timestamps (D. J. Bernstein, cr.yp.to/libtai/tai64.html): the {timestamp} that a handshake
// initiation carries encrypted, so that the responder can refuse a replayed initiation: it accepts
// one only if its timestamp is greater than the last it accepted from that peer (paper 5.4.2 First
// Message: Initiator to Responder). 12 bytes: the TAI64 label 2^62 + seconds as a big-endian u64,
// then the nanoseconds as a big-endian u32. The label is 2^62 + 10 + Unix seconds, as in
// wireguard-go (base 0x400000000000000a) and the kernel; leap seconds are ignored, since only the
// order of one sender's timestamps matters.
//
// The nanoseconds are rounded down to a multiple of 2^24 ns (~16.8 ms), so that the timestamp
// cannot serve as a precise timer: it reaches the responder, and at full precision it would hand
// out a fine reading of the initiator's clock. wireguard-go calls this the whitener (tai64n.go,
// whitenerMask = 0x1000000 - 1); the kernel aligns tv_nsec down to the power of two below
// 1e9 / INITIATIONS_PER_SECOND (50), which is the same 2^24. ~16 ms still orders initiations, which
// are never sent that often.

/** Length of a TAI64N timestamp. */
export const TAI64N_LEN = 12;

const TAI64_HI = 0x4000_0000; // high 32 bits of the label 2^62
const UNIX_EPOCH_OFFSET = 10; // label of the Unix epoch: 2^62 + 10
const WHITENER_MASK = 0x00ff_ffff; // 2^24 - 1
const TWO_POW_32 = 0x1_0000_0000;
const NS_PER_S = 1_000_000_000;

function write(out: Uint8Array, offset: number, seconds: number, nanos: number): void {
  // seconds is an integer with |seconds| < 2^53: split into exact u32 halves, then add the label.
  let hi = Math.floor(seconds / TWO_POW_32);
  let lo = seconds - hi * TWO_POW_32 + UNIX_EPOCH_OFFSET;
  if (lo >= TWO_POW_32) {
    lo -= TWO_POW_32;
    hi += 1;
  }
  hi = (hi + TAI64_HI) >>> 0;
  const n = (nanos & ~WHITENER_MASK) >>> 0;
  out[offset] = hi >>> 24;
  out[offset + 1] = hi >>> 16;
  out[offset + 2] = hi >>> 8;
  out[offset + 3] = hi;
  out[offset + 4] = lo >>> 24;
  out[offset + 5] = lo >>> 16;
  out[offset + 6] = lo >>> 8;
  out[offset + 7] = lo;
  out[offset + 8] = n >>> 24;
  out[offset + 9] = n >>> 16;
  out[offset + 10] = n >>> 8;
  out[offset + 11] = n;
}

function checkOut(out: Uint8Array, offset: number): void {
  if (!(Number.isInteger(offset) && offset >= 0 && offset + TAI64N_LEN <= out.length)) {
    throw new RangeError(
      `out: need ${TAI64N_LEN} bytes at offset ${offset}, but the buffer holds ${out.length} bytes`,
    );
  }
}

/**
 * Writes the whitened TAI64N timestamp of `nowMs` (wall-clock milliseconds since the Unix epoch, as
 * Date.now() gives them; fractions are used, e.g. performance.timeOrigin + performance.now()) into
 * out[offset, offset + 12).
 * @throws RangeError if `nowMs` is not finite or there is no room in `out`.
 */
export function tai64n(out: Uint8Array, nowMs: number, offset = 0): void {
  checkOut(out, offset);
  if (!Number.isFinite(nowMs)) throw new RangeError(`nowMs: expected a finite number, got ${nowMs}`);
  const seconds = Math.floor(nowMs / 1000);
  let nanos = Math.floor((nowMs - seconds * 1000) * 1_000_000);
  if (nanos > NS_PER_S - 1) nanos = NS_PER_S - 1; // float rounding at the top of a second
  if (nanos < 0) nanos = 0;
  write(out, offset, seconds, nanos);
}

/**
 * Writes the whitened TAI64N timestamp of `ns` nanoseconds since the Unix epoch (a BigInt, e.g.
 * process.hrtime.bigint() offset to the epoch) into out[offset, offset + 12).
 * @throws RangeError if there is no room in `out`.
 */
export function tai64nFromNs(out: Uint8Array, ns: bigint, offset = 0): void {
  checkOut(out, offset);
  const NS = BigInt(NS_PER_S);
  let seconds = ns / NS;
  let nanos = ns % NS;
  if (nanos < 0n) {
    nanos += NS;
    seconds -= 1n;
  }
  write(out, offset, Number(seconds), Number(nanos));
}

/**
 * Orders two timestamps: <0 if a is earlier, 0 if equal, >0 if later (big-endian lexicographic, as
 * wireguard-go's Timestamp.After compares).
 */
export function compareTai64n(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < TAI64N_LEN; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return 0;
}
