/**
 * Deploys: the build running now (its output live, picked up from the
 * activity stream the moment a push starts one), releases with rollback,
 * and past builds with their logs.
 */
import { useEffect, useState } from 'react';
import { api, appPath } from '../api/client.js';
import type { BuildInfo, ReleaseInfo } from '../api/types.js';
import { Alert, ConfirmButton, Loaded, StatusBadge, Button } from '../ui/components.js';
import { dateTime, duration, timeAgo } from '../ui/format.js';
import { useAction, useResource } from '../ui/hooks.js';
import { LiveBuildLog, StoredBuildLog } from './BuildLog.js';
import { DeployHelp } from './DeployHelp.js';
import type { TabProps } from './shared.js';

function statusLine(b: BuildInfo): string {
  const commit = b.commit ? ` ${b.commit.slice(0, 7)}` : '';
  if (b.status === 'running') return `Building${commit}… started ${timeAgo(b.startedAt)}`;
  if (b.status === 'succeeded')
    return `Build${commit} succeeded${b.releaseVersion ? `: release v${b.releaseVersion} is live` : ''}.`;
  return `Build${commit} failed${b.error ? `: ${b.error}` : '.'}`;
}

const took = (b: BuildInfo): string =>
  b.finishedAt ? duration((Date.parse(b.finishedAt) - Date.parse(b.startedAt)) / 1000) : '—';

export function Deploys({ app, version, liveBuild, reloadApp }: TabProps) {
  const releases = useResource(
    (signal) => api<{ releases: ReleaseInfo[] }>(appPath(app.name, '/releases'), { signal }),
    [app.name, version],
  );
  const builds = useResource(
    (signal) => api<{ builds: BuildInfo[] }>(appPath(app.name, '/builds'), { signal }),
    [app.name, version],
  );
  const [watching, setWatching] = useState<string | null>(null);
  const [ended, setEnded] = useState<BuildInfo | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [rolled, setRolled] = useState<string>();

  // A push started a build: show its output at once.
  useEffect(() => {
    if (liveBuild?.status === 'running') setWatching(liveBuild.id);
  }, [liveBuild]);
  // Opened while a build runs: follow it.
  useEffect(() => {
    if (watching !== null) return;
    const running = builds.data?.builds.find((b) => b.status === 'running');
    if (running) setWatching(running.id);
  }, [builds.data, watching]);

  const rollback = useAction(async (to: number) => {
    setRolled(undefined);
    const r = await api<{ release: ReleaseInfo }>(appPath(app.name, '/rollback'), {
      method: 'POST',
      body: { version: to },
    });
    setRolled(`Rolled back to v${to}: release v${r.release.version} is rolling out.`);
    releases.reload();
    reloadApp();
  });

  const current: BuildInfo | undefined =
    (ended?.id === watching ? ended : undefined) ??
    (liveBuild?.id === watching && liveBuild?.status !== 'running' ? liveBuild : undefined) ??
    builds.data?.builds.find((b) => b.id === watching) ??
    (liveBuild?.id === watching ? liveBuild : undefined);

  return (
    <>
      {watching && (
        <section className="g-card section" aria-labelledby="dp-live">
          <h2 id="dp-live">{current?.status === 'running' || !current ? 'Building now' : 'Latest build'}</h2>
          <p role="status" className="m-status">
            {current && <StatusBadge status={current.status} />} {current ? statusLine(current) : 'Starting…'}
          </p>
          <LiveBuildLog
            key={watching}
            app={app.name}
            id={watching}
            onEnd={(b) => {
              setEnded(b);
              builds.reload();
              releases.reload();
              reloadApp();
            }}
          />
        </section>
      )}

      {app.currentVersion === null && <DeployHelp name={app.name} />}

      <section className="g-card section" aria-labelledby="dp-releases">
        <h2 id="dp-releases">Releases</h2>
        <Alert>{rollback.error}</Alert>
        <Alert kind="ok">{rolled}</Alert>
        <Loaded resource={releases} label="Loading releases…">
          {({ releases: list }) =>
            list.length === 0 ? (
              <p className="g-hint">No releases yet: the first deploy creates v1.</p>
            ) : (
              <ul className="m-rows">
                {list.map((r) => (
                  <li key={r.version} className="m-row">
                    <strong>v{r.version}</strong>
                    {r.current && <span className="g-badge ok">current</span>}
                    <span className="m-grow">{r.description}</span>
                    <span className="g-hint" title={dateTime(r.createdAt)}>
                      {timeAgo(r.createdAt)}
                    </span>
                    {!r.current && (
                      <ConfirmButton
                        kind="plain"
                        confirm={`Roll back to v${r.version}?`}
                        busy={rollback.busy}
                        onConfirm={() => void rollback.run(r.version)}
                      >
                        Roll back to v{r.version}
                      </ConfirmButton>
                    )}
                  </li>
                ))}
              </ul>
            )
          }
        </Loaded>
      </section>

      <section className="g-card section" aria-labelledby="dp-builds">
        <h2 id="dp-builds">Builds</h2>
        <Loaded resource={builds} label="Loading builds…">
          {({ builds: list }) =>
            list.length === 0 ? (
              <p className="g-hint">No builds yet.</p>
            ) : (
              <ul className="m-rows">
                {list.slice(0, 30).map((b) => (
                  <li key={b.id} className="m-row m-wrap">
                    <StatusBadge status={b.status} />
                    <span className="mono">{b.commit ? b.commit.slice(0, 7) : b.id.slice(0, 8)}</span>
                    <span className="m-grow">
                      {b.releaseVersion ? `v${b.releaseVersion}` : (b.error ?? '')}
                    </span>
                    <span className="g-hint" title={dateTime(b.startedAt)}>
                      {timeAgo(b.startedAt)} · {took(b)}
                    </span>
                    <Button
                      aria-expanded={open === b.id}
                      onClick={() => setOpen(open === b.id ? null : b.id)}
                    >
                      {open === b.id ? 'Hide log' : 'Show log'}
                    </Button>
                    {open === b.id && (
                      <div className="m-full">
                        {b.status === 'running' ? (
                          <LiveBuildLog app={app.name} id={b.id} label={`Log of build ${b.id.slice(0, 8)}`} />
                        ) : (
                          <StoredBuildLog
                            app={app.name}
                            id={b.id}
                            label={`Log of build ${b.id.slice(0, 8)}`}
                          />
                        )}
                      </div>
                    )}
                  </li>
                ))}
              </ul>
            )
          }
        </Loaded>
      </section>

      {app.currentVersion !== null && (
        <details className="g-card section m-details">
          <summary>How to deploy</summary>
          <DeployHelp name={app.name} framed={false} />
        </details>
      )}
    </>
  );
}
