/**
 * `/manage/NAME/TAB`: loads the app, shows its header and tabs, and listens
 * once to the app's activity stream. Every change it reports bumps `version`
 * (tabs reload on it); a build event is also handed down as `liveBuild` so
 * the Deploys tab shows a pushed build's output the moment it starts.
 */
import { useCallback, useEffect, useRef, useState, type ComponentType } from 'react';
import { api, ApiError, appPath } from '../api/client.js';
import { useEventStream } from '../api/sse.js';
import type { AppInfo, BuildInfo } from '../api/types.js';
import { Link } from '../router.js';
import { EmptyState, Loaded, PageHeader, StatusBadge, Tabs } from '../ui/components.js';
import { timeAgo } from '../ui/format.js';
import { useResource } from '../ui/hooks.js';
import { Access } from './Access.js';
import { Config } from './Config.js';
import { Deploys } from './Deploys.js';
import { Events } from './Events.js';
import { Logs } from './Logs.js';
import { Metrics } from './Metrics.js';
import { Overview } from './Overview.js';
import { Processes } from './Processes.js';
import { Settings } from './Settings.js';
import { version as v, type TabProps } from './shared.js';

const TABS: [slug: string, label: string, view: ComponentType<TabProps>][] = [
  ['', 'Overview', Overview],
  ['deploys', 'Deploys', Deploys],
  ['config', 'Config', Config],
  ['processes', 'Processes', Processes],
  ['access', 'Access', Access],
  ['logs', 'Logs', Logs],
  ['metrics', 'Metrics', Metrics],
  ['events', 'Events', Events],
  ['settings', 'Settings', Settings],
];

/** Changes often come in bursts (a deploy: build, release, starts, stops): one reload per burst. */
const COALESCE_MS = 300;

function useVersion(): [number, () => void] {
  const [version, setVersion] = useState(0);
  const timer = useRef<number | undefined>(undefined);
  const bump = useCallback(() => {
    if (timer.current !== undefined) return;
    timer.current = window.setTimeout(() => {
      timer.current = undefined;
      setVersion((n) => n + 1);
    }, COALESCE_MS);
  }, []);
  useEffect(() => () => window.clearTimeout(timer.current), []);
  return [version, bump];
}

export function AppPage({ name, tab }: { name: string; tab: string }) {
  const [version, bump] = useVersion();
  const [liveBuild, setLiveBuild] = useState<BuildInfo | null>(null);
  const app = useResource((signal) => api<AppInfo>(appPath(name), { signal }), [name, version]);
  const readies = useRef(0);
  useEventStream(app.data ? appPath(name, '/activity') : null, {
    // The first `ready` opens the stream; a later one follows a reconnect, when changes may have been missed.
    ready: () => {
      if (readies.current++ > 0) bump();
    },
    build: (b) => {
      setLiveBuild(b as BuildInfo);
      bump();
    },
    release: bump,
    event: bump,
    thumbnail: bump,
  });

  const base = `/manage/${encodeURIComponent(name)}`;
  const openHref = `/apps/${encodeURIComponent(name)}/`;

  if (app.error instanceof ApiError && app.error.status === 403 && !app.data)
    return (
      <>
        <PageHeader title={name} />
        <div className="g-card section" role="status">
          <p>You can open this app but not manage it.</p>
          <p>
            <a className="g-button primary" href={openHref}>
              Open app
            </a>
          </p>
          <p className="g-hint">
            Its owner or an admin can make you a collaborator. <Link href="/manage">Back to your apps</Link>
          </p>
        </div>
      </>
    );
  if (app.error instanceof ApiError && app.error.status === 404 && !app.data)
    return (
      <EmptyState title="App not found">
        <p>
          {app.error.message}. <Link href="/manage">Back to your apps</Link>
        </p>
      </EmptyState>
    );

  const current = TABS.find(([slug]) => slug === tab);
  const View = current?.[2];
  return (
    <Loaded resource={app} label="Loading the app…">
      {(info) => (
        <>
          <PageHeader
            title={info.title || info.name}
            sub={
              <span className="m-header-sub">
                {info.title && <span className="mono">{info.name}</span>}
                <StatusBadge status={info.status} />
                <span>{v(info.currentVersion)}</span>
                {info.lastDeployAt && <span>deployed {timeAgo(info.lastDeployAt)}</span>}
              </span>
            }
            actions={
              <a className="g-button" href={openHref}>
                Open app
              </a>
            }
          />
          <Tabs
            label="App sections"
            current={current ? (current[0] ? `${base}/${current[0]}` : base) : ''}
            tabs={TABS.map(([slug, label]) => ({ href: slug ? `${base}/${slug}` : base, label }))}
          />
          {View ? (
            <View
              app={info}
              version={version}
              liveBuild={liveBuild}
              reloadApp={app.reload}
              setApp={app.setData}
            />
          ) : (
            <EmptyState title="No such section">
              <p>
                <Link href={base}>Back to the overview</Link>
              </p>
            </EmptyState>
          )}
        </>
      )}
    </Loaded>
  );
}
