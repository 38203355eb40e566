/** Events: starts, stops, crashes, OOM kills, wakes, sleeps, scaling decisions, deploys; newest first, live. */
import { api, appPath } from '../api/client.js';
import type { AppEvent } from '../api/types.js';
import { Loaded } from '../ui/components.js';
import { dateTime, timeAgo } from '../ui/format.js';
import { useResource } from '../ui/hooks.js';
import { shortProcess } from './logtext.js';
import type { TabProps } from './shared.js';

const LIMIT = 200;
const DANGER = new Set(['crash', 'oom', 'failed']);

export function Events({ app, version }: TabProps) {
  // The activity stream bumps `version` on every new event: the list reloads with it.
  const events = useResource(
    (signal) => api<{ events: AppEvent[] }>(appPath(app.name, `/events?limit=${LIMIT}`), { signal }),
    [app.name, version],
  );
  return (
    <section className="g-card section" aria-labelledby="ev-title">
      <h2 id="ev-title">Events</h2>
      <Loaded resource={events} label="Loading events…">
        {({ events: list }) =>
          list.length === 0 ? (
            <p className="g-hint">Nothing happened yet.</p>
          ) : (
            <div className="table-wrap">
              <table className="g-table">
                <thead>
                  <tr>
                    <th scope="col">When</th>
                    <th scope="col">Kind</th>
                    <th scope="col">Process</th>
                    <th scope="col">Message</th>
                  </tr>
                </thead>
                <tbody>
                  {list.map((e, i) => (
                    <tr key={`${e.at}-${list.length - i}`}>
                      <td className="m-nowrap" title={dateTime(e.at)}>
                        {timeAgo(e.at)}
                      </td>
                      <td>
                        <span className={`g-badge ${DANGER.has(e.kind) ? 'danger' : ''}`}>{e.kind}</span>
                      </td>
                      <td className="mono">{e.process ? shortProcess(app.name, e.process) : '—'}</td>
                      <td>{e.message}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Loaded>
    </section>
  );
}
