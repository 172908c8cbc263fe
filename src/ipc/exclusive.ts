/**
 * One control operation at a time per device: UAPI requests from every connection, and the daemon's
 * up/down on link changes, queue here. Without it a `wg set listen-port` arriving while the link comes
 * up could be overwritten by up()'s bind, and a get could read a half-applied set.
 */
import type { Device } from '../device/device.js';

/** The tail of each device's queue; settled promises only, so one failure does not block the rest. */
const tails = new WeakMap<Device, Promise<unknown>>();

/** Run `fn` after every operation queued before it on `dev`; resolves or rejects as `fn` does. */
export function exclusive<T>(dev: Device, fn: () => Promise<T>): Promise<T> {
  const prev = tails.get(dev) ?? Promise.resolve();
  const run = prev.then(fn);
  tails.set(
    dev,
    run.catch(() => undefined),
  );
  return run;
}
