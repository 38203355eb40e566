/**
 * The App Portal, where everyone lands: the apps they may open, searchable and
 * filterable by tag (both kept in the URL), refreshed quietly while open.
 */
import { useEffect } from 'react';
import { api } from '../api/client.js';
import type { AppSummary } from '../api/types.js';
import { Link, navigate, useRoute } from '../router.js';
import { canCreateApps, useSession } from '../session.js';
import { Button, EmptyState, Field, Loaded, PageHeader } from '../ui/components.js';
import { useResource } from '../ui/hooks.js';
import { AppCard } from './AppCard.js';
import {
  countText,
  filterApps,
  filterHref,
  isFiltered,
  NO_FILTER,
  parseFilter,
  tagsOf,
  toggleTag,
  type PortalFilter,
} from './filter.js';
import './portal.css';

const REFRESH_MS = 30_000;

/** Reloads every `ms` while the tab is visible, and at once when it becomes visible again. */
function useQuietRefresh(reload: () => void, ms: number): void {
  useEffect(() => {
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') reload();
    }, ms);
    const onVisible = (): void => {
      if (document.visibilityState === 'visible') reload();
    };
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      clearInterval(timer);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [reload, ms]);
}

function setFilter(filter: PortalFilter): void {
  // navigate() scrolls to the top (right for a new page); a filter change keeps the reader's place.
  const y = window.scrollY;
  navigate(filterHref(filter), { replace: true });
  window.scrollTo(0, y);
}

export default function PortalPage() {
  const session = useSession();
  const { query } = useRoute();
  const filter = parseFilter(query);
  const apps = useResource((signal) => api<{ apps: AppSummary[] }>('/api/apps', { signal }), []);
  useQuietRefresh(apps.reload, REFRESH_MS);

  return (
    <>
      <PageHeader title="Apps" sub="Everything you can open, in one place." />
      <Loaded resource={apps} label="Loading apps…">
        {({ apps: list }) =>
          list.length === 0 ? (
            <EmptyState title="No apps yet">
              {canCreateApps(session) ? (
                <p>
                  <Link href="/manage/new">Create an app</Link> and deploy it with a git push; it shows up
                  here for everyone you share it with.
                </p>
              ) : (
                <p className="g-hint">Apps shared with you will show up here.</p>
              )}
            </EmptyState>
          ) : (
            <Gallery apps={list} filter={filter} />
          )
        }
      </Loaded>
    </>
  );
}

function Gallery({ apps, filter }: { apps: AppSummary[]; filter: PortalFilter }) {
  const shown = filterApps(apps, filter);
  const tags = tagsOf(apps, filter.tags);
  const filtered = isFiltered(filter);
  const now = Date.now();
  const clear = (): void => setFilter(NO_FILTER);
  return (
    <>
      <div className="portal-toolbar" role="search" aria-label="Filter apps">
        <Field label="Search apps">
          {(id) => (
            <input
              id={id}
              className="g-input"
              type="search"
              autoComplete="off"
              value={filter.q}
              onChange={(e) => setFilter({ ...filter, q: e.target.value })}
            />
          )}
        </Field>
        {tags.length > 0 && (
          <div className="portal-filters" role="group" aria-label="Filter by tag">
            {tags.map((t) => (
              <button
                key={t}
                type="button"
                className="portal-chip"
                aria-pressed={filter.tags.includes(t)}
                onClick={() => setFilter(toggleTag(filter, t))}
              >
                {t}
              </button>
            ))}
          </div>
        )}
      </div>
      <div className="portal-summary">
        <p role="status" className="g-hint">
          {countText(shown.length)}
        </p>
        {/* One "Clear filters" at a time: the empty state has its own. */}
        {filtered && shown.length > 0 && <Button onClick={clear}>Clear filters</Button>}
      </div>
      {shown.length === 0 ? (
        <EmptyState title="No apps match">
          <p className="g-hint">Try other words or fewer tags.</p>
          <Button onClick={clear}>Clear filters</Button>
        </EmptyState>
      ) : (
        <div className="portal-grid">
          {shown.map((a) => (
            <AppCard key={a.name} app={a} now={now} />
          ))}
        </div>
      )}
    </>
  );
}
