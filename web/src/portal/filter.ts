/**
 * The portal's search, tag filters and order: pure functions over the app list
 * and the page's query string (`?q=…&tag=a&tag=b`), so they run in node:test.
 */

/** What the portal needs of an app (a subset of AppSummary). */
export interface PortalApp {
  name: string;
  title: string | null;
  description: string;
  tags: string[];
  owner: string | null;
  status: string;
}

export interface PortalFilter {
  /** The search box as typed (kept untrimmed so typing a space survives the URL round trip). */
  q: string;
  /** Selected tags: an app must carry all of them. */
  tags: string[];
}

export const NO_FILTER: PortalFilter = { q: '', tags: [] };

/** What the portal shows as an app's name. */
export function appTitle(app: Pick<PortalApp, 'name' | 'title'>): string {
  return app.title?.trim() || app.name;
}

export function parseFilter(query: URLSearchParams): PortalFilter {
  const tags: string[] = [];
  for (const t of query.getAll('tag')) {
    const tag = t.trim().toLowerCase();
    if (tag && !tags.includes(tag)) tags.push(tag);
  }
  return { q: query.get('q') ?? '', tags };
}

/** The portal's URL for a filter: `/`, `/?q=sales`, `/?tag=a&tag=b`. */
export function filterHref(filter: PortalFilter): string {
  const query = new URLSearchParams();
  if (filter.q.trim()) query.set('q', filter.q);
  for (const t of filter.tags) query.append('tag', t);
  const s = query.toString();
  return s ? `/?${s}` : '/';
}

export function isFiltered(filter: PortalFilter): boolean {
  return filter.q.trim() !== '' || filter.tags.length > 0;
}

export function toggleTag(filter: PortalFilter, tag: string): PortalFilter {
  const tags = filter.tags.includes(tag) ? filter.tags.filter((t) => t !== tag) : [...filter.tags, tag];
  return { ...filter, tags };
}

/**
 * Whether an app passes the filter. Every word of the search must appear
 * (case-insensitive) in its title, name, description, owner or one of its tags,
 * so "sales alice" finds alice's sales app.
 */
export function matchesApp(app: PortalApp, filter: PortalFilter): boolean {
  for (const tag of filter.tags) if (!app.tags.includes(tag)) return false;
  const words = filter.q.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return true;
  const haystack = [app.title ?? '', app.name, app.description, app.owner ?? '', ...app.tags]
    .join('\n')
    .toLowerCase();
  return words.every((w) => haystack.includes(w));
}

/** 0: can be opened now (running, or sleeping and woken by opening it); 1: the rest; 2: never deployed. */
function rank(status: string): number {
  if (status === 'running' || status === 'sleeping') return 0;
  if (status === 'new') return 2;
  return 1;
}

const collator = new Intl.Collator(undefined, { sensitivity: 'base', numeric: true });

/** Running and sleeping apps first, then the others, never-deployed ones last; by title within each. */
export function compareApps(a: PortalApp, b: PortalApp): number {
  return (
    rank(a.status) - rank(b.status) ||
    collator.compare(appTitle(a), appTitle(b)) ||
    collator.compare(a.name, b.name)
  );
}

/** The apps to show, in order (a new array; the input is left as is). */
export function filterApps<T extends PortalApp>(apps: readonly T[], filter: PortalFilter): T[] {
  return apps.filter((a) => matchesApp(a, filter)).sort(compareApps);
}

/**
 * The tags to offer as filters: every tag of the list, plus selected ones no
 * app carries any more (so they can still be switched off), alphabetically.
 */
export function tagsOf(apps: readonly PortalApp[], selected: readonly string[] = []): string[] {
  const all = new Set(selected);
  for (const a of apps) for (const t of a.tags) all.add(t);
  return [...all].sort((a, b) => collator.compare(a, b));
}

/** "1 app", "4 apps". */
export function countText(n: number): string {
  return `${n} app${n === 1 ? '' : 's'}`;
}
