/**
 * The daemon's packet memory: a TieredPool that gives idle slabs back (autoTrim) under a Budget on
 * bytes outstanding, so a flood or a stalled TUN makes the readers pause instead of growing the heap.
 *
 * WGTS_BUFFER_BUDGET_MIB sets the budget (default 64 MiB: about 30,000 MTU-sized buffers, far above
 * what the batch sizes keep in flight; small devices can set it lower); 0 means no budget.
 */
import { Budget } from '../buffer/budget.js';
import { TieredPool } from '../buffer/tiered-pool.js';
import { StartupError } from './platform.js';

export const DEFAULT_BUDGET_MIB = 64;

/** @throws StartupError naming the variable when WGTS_BUFFER_BUDGET_MIB is not a whole number of MiB. */
export function daemonPool(env: NodeJS.ProcessEnv): TieredPool {
  const text = env['WGTS_BUFFER_BUDGET_MIB'];
  let mib = DEFAULT_BUDGET_MIB;
  if (text !== undefined && text !== '') {
    if (!/^[0-9]{1,6}$/.test(text)) throw new StartupError(`WGTS_BUFFER_BUDGET_MIB must be a whole number of MiB, got ${JSON.stringify(text)}`);
    mib = Number(text);
  }
  const budget = mib === 0 ? null : new Budget(mib * 1024 * 1024);
  return new TieredPool({ autoTrim: true, budget });
}
