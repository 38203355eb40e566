/** Scale to zero and autoscaling of the web processes, plus sleeping and waking by hand. */
import { useEffect, useId, useState, type FormEvent } from 'react';
import { api, appPath } from '../api/client.js';
import type { ScalingInfo, ScalingSettings } from '../api/types.js';
import { Alert, Button, Field, Loaded, StatusBadge } from '../ui/components.js';
import { useAction, useResource } from '../ui/hooks.js';
import { useSynced, type TabProps } from './shared.js';
import { formatDuration, parseDuration, parseWhole } from './units.js';

const SCALING_REFRESH_MS = 10_000;

type Change = { [K in keyof ScalingSettings]?: ScalingSettings[K] | null };

function ScalingForm({
  info,
  app,
  onChange,
}: {
  info: ScalingInfo;
  app: string;
  onChange: (i: ScalingInfo) => void;
}) {
  const s = info.settings;
  const [min, setMin] = useSynced(String(s.min));
  const [max, setMax] = useSynced(s.max === null ? '' : String(s.max));
  const [concurrency, setConcurrency] = useSynced(String(s.concurrency));
  const [idle, setIdle] = useSynced(formatDuration(s.idleTimeoutMs));
  const [affinity, setAffinity] = useSynced(s.affinity);
  const [problem, setProblem] = useState<string>();
  const [done, setDone] = useState<string>();
  const affinityId = useId();
  const save = useAction(async (change: Change) => {
    onChange(await api<ScalingInfo>(appPath(app, '/scaling'), { method: 'PATCH', body: change }));
    setDone('Saved scaling settings.');
  });
  const hint = (key: keyof ScalingSettings, text: string): string =>
    info.custom.includes(key) ? text : `${text} (server default)`;

  const submit = (e: FormEvent): void => {
    e.preventDefault();
    setDone(undefined);
    try {
      const next: ScalingSettings = {
        min: parseWhole('Minimum', min, 0, info.maxReplicas),
        max: max.trim() === '' ? null : parseWhole('Maximum', max, 1, info.maxReplicas),
        concurrency: parseWhole('Concurrency target', concurrency, 1, 100_000),
        idleTimeoutMs: parseDuration('Idle timeout', idle),
        affinity,
      };
      // Only what the user changed: the rest keeps following the server defaults.
      const change: Change = {};
      for (const k of Object.keys(next) as (keyof ScalingSettings)[]) {
        if (next[k] !== s[k]) Object.assign(change, { [k]: next[k] });
      }
      setProblem(undefined);
      if (Object.keys(change).length === 0) {
        setDone('Nothing changed.');
        return;
      }
      void save.run(change);
    } catch (err) {
      setProblem((err as Error).message);
    }
  };

  return (
    <form onSubmit={submit} aria-label="Autoscaling">
      <div className="row m-top">
        <Field label="Minimum" hint={hint('min', '0 lets the app sleep when idle')}>
          {(id, d) => (
            <input
              id={id}
              className="g-input"
              type="number"
              min={0}
              max={info.maxReplicas}
              value={min}
              onChange={(e) => setMin(e.target.value)}
              aria-describedby={d}
            />
          )}
        </Field>
        <Field label="Maximum" hint={`empty: no autoscaling; up to ${info.maxReplicas}`}>
          {(id, d) => (
            <input
              id={id}
              className="g-input"
              type="number"
              min={1}
              max={info.maxReplicas}
              value={max}
              onChange={(e) => setMax(e.target.value)}
              aria-describedby={d}
            />
          )}
        </Field>
        <Field label="Concurrency target" hint={hint('concurrency', 'requests in flight per process')}>
          {(id, d) => (
            <input
              id={id}
              className="g-input"
              type="number"
              min={1}
              value={concurrency}
              onChange={(e) => setConcurrency(e.target.value)}
              aria-describedby={d}
            />
          )}
        </Field>
        <Field label="Idle timeout" hint={hint('idleTimeoutMs', 'e.g. 15m or 1h')}>
          {(id, d) => (
            <input
              id={id}
              className="g-input"
              value={idle}
              onChange={(e) => setIdle(e.target.value)}
              aria-describedby={d}
              autoComplete="off"
              spellCheck={false}
            />
          )}
        </Field>
      </div>
      <div className="g-field m-check">
        <input
          id={affinityId}
          type="checkbox"
          checked={affinity}
          onChange={(e) => setAffinity(e.target.checked)}
        />
        <label htmlFor={affinityId}>Session affinity</label>
        <span className="g-hint">pins each browser to one process (Shiny, Streamlit, Panel)</span>
      </div>
      <Button type="submit" kind="primary" busy={save.busy}>
        Save scaling
      </Button>
      <Alert>{problem ?? save.error}</Alert>
      <Alert kind="ok">{done}</Alert>
    </form>
  );
}

export function Scaling({ app, version, reloadApp }: TabProps) {
  // `app` changes after every scale or reload of the app: the replica count follows it.
  const scaling = useResource(
    (signal) => api<ScalingInfo>(appPath(app.name, '/scaling'), { signal }),
    [app.name, version, app],
  );
  const { reload: reloadScaling } = scaling;
  useEffect(() => {
    // Replicas come and go by themselves (sleep, wake, autoscaling).
    const timer = window.setInterval(reloadScaling, SCALING_REFRESH_MS);
    return () => window.clearInterval(timer);
  }, [reloadScaling]);
  const [moved, setMoved] = useState<string>();
  const sleep = useAction(async () => {
    wake.clearError();
    setMoved(undefined);
    await api(appPath(app.name, '/sleep'), { method: 'POST' });
    setMoved('Sleeping: the app wakes on its next request.');
    scaling.reload();
    reloadApp();
  });
  const wake = useAction(async () => {
    sleep.clearError();
    setMoved(undefined);
    scaling.setData(await api<ScalingInfo>(appPath(app.name, '/wake'), { method: 'POST' }));
    setMoved('Awake: the app serves again.');
    reloadApp();
  });
  return (
    <section className="g-card section" aria-labelledby="ps-scaling">
      <h2 id="ps-scaling">Sleep and autoscaling</h2>
      <Loaded resource={scaling} label="Loading scaling…">
        {(info) => (
          <>
            <p className="m-status">
              <StatusBadge status={info.state} /> {info.replicas} web process{info.replicas === 1 ? '' : 'es'}{' '}
              now
              {info.desired !== info.replicas && `, ${info.desired} wanted`}
              {info.settings.max !== null &&
                ` · autoscaled ${Math.max(1, info.settings.min)}–${info.settings.max}`}
            </p>
            <div className="m-buttons">
              <Button busy={sleep.busy} onClick={() => void sleep.run()}>
                Sleep now
              </Button>
              <Button busy={wake.busy} onClick={() => void wake.run()}>
                Wake now
              </Button>
            </div>
            <Alert>{sleep.error ?? wake.error}</Alert>
            <Alert kind="ok">{moved}</Alert>
            <ScalingForm info={info} app={app.name} onChange={scaling.setData} />
          </>
        )}
      </Loaded>
    </section>
  );
}
