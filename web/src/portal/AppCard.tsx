/** One app in the portal: a card whose title link covers the whole card (one tab stop each). */
import { useState, type CSSProperties } from 'react';
import type { AppSummary } from '../api/types.js';
import { StatusBadge } from '../ui/components.js';
import { dateTime, timeAgo } from '../ui/format.js';
import { appTitle } from './filter.js';
import { hueOf, initials } from './placeholder.js';

/** A few words after the status where it alone would not tell what opening the app does. */
const STATUS_HINT: Record<string, string> = {
  sleeping: 'wakes when opened',
  new: 'not deployed yet',
};

/** The app as the router serves it: same origin, so it works whatever the public URL is set to. */
export const appHref = (name: string): string => `/apps/${encodeURIComponent(name)}/`;

function Placeholder({ name, title }: { name: string; title: string }) {
  const style = { '--portal-hue': hueOf(name) } as CSSProperties;
  return (
    <div className="portal-thumb portal-placeholder" style={style} aria-hidden="true">
      <span>{initials(title)}</span>
    </div>
  );
}

function Thumbnail({ app, title }: { app: AppSummary; title: string }) {
  // A thumbnail that fails to load (deleted meanwhile, offline) shows the placeholder instead.
  const [failed, setFailed] = useState<string | null>(null);
  const url = app.thumbnail?.url;
  if (!url || failed === url) return <Placeholder name={app.name} title={title} />;
  return (
    <img
      className="portal-thumb"
      src={url}
      alt={`Screenshot of ${title}`}
      loading="lazy"
      decoding="async"
      width={320}
      height={200}
      onError={() => setFailed(url)}
    />
  );
}

export function AppCard({ app, now }: { app: AppSummary; now: number }) {
  const title = appTitle(app);
  const hint = STATUS_HINT[app.status];
  return (
    <article className="portal-card g-card" aria-label={title}>
      <Thumbnail app={app} title={title} />
      <div className="portal-body">
        <div className="portal-head">
          <h2>
            <a className="portal-link" href={appHref(app.name)}>
              {title}
            </a>
          </h2>
          <span className="portal-status">
            <StatusBadge status={app.status} />
            {hint && <span className="g-hint">{hint}</span>}
          </span>
        </div>
        <p className="portal-meta">
          {app.owner && (
            <span>
              by <span className="portal-owner">{app.owner}</span>
            </span>
          )}
          {app.lastDeployAt && (
            <time dateTime={app.lastDeployAt} title={dateTime(app.lastDeployAt)}>
              Deployed {timeAgo(app.lastDeployAt, now)}
            </time>
          )}
        </p>
        {app.description && <p className="portal-desc">{app.description}</p>}
        {app.tags.length > 0 && (
          <ul className="portal-tags" aria-label="Tags">
            {app.tags.map((t) => (
              <li key={t}>{t}</li>
            ))}
          </ul>
        )}
      </div>
    </article>
  );
}
