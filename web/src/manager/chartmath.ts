/** Pure geometry of the metrics charts: axis bounds and SVG paths. */

/** The smallest "round" number ≥ n (1, 2, 2.5, 5 × 10^k); 1 for n ≤ 0. */
export function niceCeil(n: number): number {
  if (!(n > 0) || !Number.isFinite(n)) return 1;
  const exp = 10 ** Math.floor(Math.log10(n));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (step * exp >= n * (1 - 1e-9)) return step * exp;
  }
  return 10 * exp;
}

/** Largest value of the series (nulls skipped), 0 when there is none. */
export function maxOf(series: readonly (readonly (number | null)[])[]): number {
  let max = 0;
  for (const s of series) for (const v of s) if (v !== null && v > max) max = v;
  return max;
}

/**
 * An SVG path through the values: `x(i)` and `y(v)` map index and value to
 * pixels; a null (no sample) breaks the line instead of drawing it down to 0.
 */
export function linePath(
  values: readonly (number | null)[],
  x: (i: number) => number,
  y: (v: number) => number,
): string {
  let d = '';
  let pen = false;
  values.forEach((v, i) => {
    if (v === null) {
      pen = false;
      return;
    }
    d += `${pen ? 'L' : 'M'}${round(x(i))} ${round(y(v))}`;
    pen = true;
  });
  return d;
}

const round = (n: number): number => Math.round(n * 10) / 10;

/** Index of the last non-null value, or -1. */
export function lastIndex(values: readonly (number | null)[]): number {
  for (let i = values.length - 1; i >= 0; i--) if (values[i] !== null) return i;
  return -1;
}
