/**
 * Figures for the benchmark tables: medians that skip missing runs, per-round ratios, and numbers
 * printed with '-' for what is missing. Shared machines are noisy, so tables quote medians and
 * same-run ratios, never single absolutes.
 */

/** The median of the numbers that are not NaN; NaN when there are none. */
export function median(xs: readonly number[]): number {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * The median over rounds of mine / theirs, each side's samples matched by `round`: a ratio taken
 * within one round, where both met the same machine load.
 */
export function ratioMedian<T extends { round: number }>(mine: readonly T[], theirs: readonly T[], f: (s: T) => number): number {
  const out: number[] = [];
  for (const m of mine) {
    const t = theirs.find((x) => x.round === m.round);
    if (t !== undefined) out.push(f(m) / f(t));
  }
  return median(out);
}

export function fmt(x: number, digits = 2): string {
  return Number.isFinite(x) ? x.toFixed(digits) : '-';
}
