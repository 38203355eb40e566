/** Processes: scale each type, see each process, restart; limits and autoscaling below. */
import { useEffect, useState, type FormEvent } from 'react';
import { api, appPath } from '../api/client.js';
import type { ProcessStatus } from '../api/types.js';
import { Alert, Button, Field, Loaded, StatusBadge } from '../ui/components.js';
import { bytes, duration, percent } from '../ui/format.js';
import { useAction, useResource } from '../ui/hooks.js';
import { Limits } from './Limits.js';
import { Scaling } from './Scaling.js';
import { shortProcess } from './logtext.js';
import { useSynced, type TabProps } from './shared.js';
import { parseWhole } from './units.js';

/** CPU and memory are sampled every few seconds: refresh the table while it is on screen. */
const REFRESH_MS = 10_000;
const MAX_SCALE = 100;

function ScaleForm({
  app,
  type,
  count,
  onScaled,
}: {
  app: string;
  type: string;
  count: number;
  onScaled: () => void;
}) {
  const [text, setText] = useSynced(String(count));
  const [done, setDone] = useState<string>();
  const [problem, setProblem] = useState<string>();
  const scale = useAction(async (n: number) => {
    const r = await api<{ formation: Record<string, number> }>(appPath(app, '/formation'), {
      method: 'PATCH',
      body: { [type]: n },
    });
    const now = r.formation[type] ?? n;
    setDone(`${type}: ${now} process${now === 1 ? '' : 'es'}`);
    onScaled();
  });
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    setDone(undefined);
    try {
      const n = parseWhole(`${type} processes`, text, 0, MAX_SCALE);
      setProblem(undefined);
      void scale.run(n);
    } catch (err) {
      setProblem((err as Error).message);
    }
  };
  return (
    <form className="m-scale" onSubmit={submit}>
      <div className="row">
        <Field label={`${type} processes`}>
          {(id) => (
            <input
              id={id}
              className="g-input"
              type="number"
              inputMode="numeric"
              min={0}
              max={MAX_SCALE}
              value={text}
              onChange={(e) => setText(e.target.value)}
            />
          )}
        </Field>
        <div className="g-field">
          <Button type="submit" kind="primary" busy={scale.busy}>
            Scale {type}
          </Button>
        </div>
      </div>
      <Alert>{problem ?? scale.error}</Alert>
      <Alert kind="ok">{done}</Alert>
    </form>
  );
}

function uptime(p: ProcessStatus): string {
  if (p.state !== 'running' || !p.startedAt) return '—';
  return duration((Date.now() - new Date(p.startedAt).getTime()) / 1000);
}

export function Processes(props: TabProps) {
  const { app, version, reloadApp } = props;
  const ps = useResource(
    (signal) => api<{ processes: ProcessStatus[] }>(appPath(app.name, '/ps'), { signal }),
    [app.name, version],
  );
  const { reload } = ps;
  useEffect(() => {
    const timer = window.setInterval(reload, REFRESH_MS);
    return () => window.clearInterval(timer);
  }, [reload]);
  const [restarted, setRestarted] = useState<string>();
  const restart = useAction(async () => {
    setRestarted(undefined);
    await api(appPath(app.name, '/restart'), { method: 'POST', body: {} });
    setRestarted('Restarted: each process was replaced one by one.');
    reload();
    reloadApp();
  });
  const types = [...new Set([...Object.keys(app.formation), ...Object.keys(app.processTypes)])].sort();

  return (
    <>
      <section className="g-card section" aria-labelledby="ps-scale">
        <h2 id="ps-scale">Scale</h2>
        {types.length === 0 ? (
          <p className="g-hint">Process types appear after the first deploy (from your Procfile).</p>
        ) : (
          types.map((t) => (
            <ScaleForm
              key={t}
              app={app.name}
              type={t}
              count={app.formation[t] ?? 0}
              onScaled={() => {
                reload();
                reloadApp();
              }}
            />
          ))
        )}
      </section>

      <section className="g-card section" aria-labelledby="ps-list">
        <div className="m-section-head">
          <h2 id="ps-list">Processes</h2>
          <Button busy={restart.busy} onClick={() => void restart.run()}>
            Restart
          </Button>
        </div>
        <Alert>{restart.error}</Alert>
        <Alert kind="ok">{restarted}</Alert>
        <Loaded resource={ps} label="Loading processes…">
          {({ processes }) =>
            processes.length === 0 ? (
              <p className="g-hint">No processes run now.</p>
            ) : (
              <div className="table-wrap">
                <table className="g-table">
                  <thead>
                    <tr>
                      <th scope="col">Process</th>
                      <th scope="col">State</th>
                      <th scope="col" className="num">
                        Restarts
                      </th>
                      <th scope="col">Uptime</th>
                      <th scope="col" className="num">
                        CPU
                      </th>
                      <th scope="col" className="num">
                        Memory / limit
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {processes.map((p) => (
                      <tr key={p.name}>
                        <th scope="row" className="mono">
                          {shortProcess(app.name, p.name)}
                        </th>
                        <td>
                          <StatusBadge status={p.state} />
                          {p.oomKills ? <span className="g-hint"> {p.oomKills} OOM</span> : null}
                        </td>
                        <td className="num">{p.restarts}</td>
                        <td>{uptime(p)}</td>
                        <td className="num">{percent(p.usage?.cpuPercent)}</td>
                        <td className="num">
                          {bytes(p.usage?.memoryBytes)}
                          {p.limits?.memoryBytes !== undefined && ` / ${bytes(p.limits.memoryBytes)}`}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )
          }
        </Loaded>
      </section>

      <Scaling {...props} />
      <Limits {...props} />
    </>
  );
}
