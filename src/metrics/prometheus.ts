/**
 * Prometheus text exposition format 0.0.4: one `# HELP` and `# TYPE` per
 * family, then its samples `name{label="value",…} value`.
 */

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export type MetricType = 'counter' | 'gauge' | 'histogram';

/** Label values escape backslash, double quote and newline. */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** HELP text escapes backslash and newline. */
function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** Go float syntax: `+Inf`, `-Inf`, `NaN`, else the shortest round-trip decimal. */
export function formatValue(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}

export function formatLabels(labels: Readonly<Record<string, string>>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(labels)) parts.push(`${k}="${escapeLabelValue(v)}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

/** One metric family being written: samples are appended, `toString` renders the block. */
export class Family {
  readonly #lines: string[];

  constructor(
    readonly name: string,
    type: MetricType,
    help: string,
  ) {
    this.#lines = [`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`];
  }

  /** A sample of this family; `suffix` for histogram parts (`_bucket`, `_sum`, `_count`). */
  add(labels: Readonly<Record<string, string>>, value: number, suffix = ''): void {
    this.#lines.push(`${this.name}${suffix}${formatLabels(labels)} ${formatValue(value)}`);
  }

  toString(): string {
    return this.#lines.join('\n') + '\n';
  }
}
