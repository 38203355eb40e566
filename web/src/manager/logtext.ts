/** Pure helpers of the live log views: a capped buffer, search and highlighting. */

/** `buf` followed by `add`, keeping only the last `max` items (a new array). */
export function appendCapped<T>(buf: readonly T[], add: readonly T[], max: number): T[] {
  if (add.length >= max) return add.slice(add.length - max);
  const keep = Math.max(0, buf.length + add.length - max);
  return [...buf.slice(keep), ...add];
}

/** `sales.web.1` → `web.1` for app `sales`; other names (`gantry`) as they are. */
export function shortProcess(app: string, process: string): string {
  return process.startsWith(`${app}.`) ? process.slice(app.length + 1) : process;
}

/** Does the line's text or process contain `query` (case-insensitive; empty matches all)? */
export function lineMatches(line: { process: string; text: string }, query: string): boolean {
  if (query === '') return true;
  const q = query.toLowerCase();
  return line.text.toLowerCase().includes(q) || line.process.toLowerCase().includes(q);
}

export interface Part {
  text: string;
  match: boolean;
}

/** Splits `text` around each case-insensitive occurrence of `query`, for <mark>. */
export function highlight(text: string, query: string): Part[] {
  if (query === '') return [{ text, match: false }];
  const parts: Part[] = [];
  const lower = text.toLowerCase();
  const q = query.toLowerCase();
  let from = 0;
  for (let at = lower.indexOf(q); at !== -1; at = lower.indexOf(q, from)) {
    if (at > from) parts.push({ text: text.slice(from, at), match: false });
    parts.push({ text: text.slice(at, at + q.length), match: true });
    from = at + q.length;
  }
  if (from < text.length) parts.push({ text: text.slice(from), match: false });
  return parts;
}

/**
 * The process filter's choices for an app: each type, then each process
 * (`web`, `web.1`, `web.2`, `worker`, `worker.1`), from the formation and
 * the processes seen.
 */
export function processChoices(app: string, types: string[], processes: string[]): string[] {
  const byType = new Map<string, Set<string>>();
  for (const t of types) byType.set(t, new Set());
  for (const p of processes) {
    const short = shortProcess(app, p);
    const m = /^([a-z0-9-]+)\.(\d+)$/.exec(short);
    if (!m) continue;
    const set = byType.get(m[1]!) ?? new Set<string>();
    set.add(short);
    byType.set(m[1]!, set);
  }
  const out: string[] = [];
  for (const t of [...byType.keys()].sort()) {
    out.push(t);
    const names = [...byType.get(t)!].sort((a, b) => Number(a.split('.')[1]) - Number(b.split('.')[1]));
    out.push(...names);
  }
  return out;
}
