/** Resource limits per process type: memory like 512M, CPU in cores; reset back to the server defaults. */
import { useState, type FormEvent } from 'react';
import { api, appPath } from '../api/client.js';
import type { LimitsInfo, ResourceLimits } from '../api/types.js';
import { Alert, Button, Field, Loaded } from '../ui/components.js';
import { bytes } from '../ui/format.js';
import { useAction, useResource } from '../ui/hooks.js';
import { useSynced, type TabProps } from './shared.js';
import { formatBytesInput, parseBytes, parseCpu } from './units.js';

function effective(l: ResourceLimits | undefined): string {
  const mem = l?.memoryBytes === undefined ? 'no memory limit' : `${bytes(l.memoryBytes)} memory`;
  const cpu = l?.cpu === undefined ? 'no CPU cap' : `${l.cpu} CPU`;
  return `${mem}, ${cpu}`;
}

function LimitsForm({
  app,
  type,
  info,
  onChange,
}: {
  app: string;
  type: string;
  info: LimitsInfo;
  onChange: (info: LimitsInfo) => void;
}) {
  const custom = info.custom[type] ?? {};
  const [memory, setMemory] = useSynced(
    custom.memoryBytes === undefined ? '' : formatBytesInput(custom.memoryBytes),
  );
  const [cpu, setCpu] = useSynced(custom.cpu === undefined ? '' : String(custom.cpu));
  const [problem, setProblem] = useState<string>();
  const [done, setDone] = useState<string>();
  const path = appPath(app, `/limits/${encodeURIComponent(type)}`);

  const save = useAction(async (limits: ResourceLimits) => {
    reset.clearError();
    onChange(await api<LimitsInfo>(path, { method: 'PUT', body: limits }));
    setDone(`Saved: ${type} restarts with the new limits.`);
  });
  const reset = useAction(async () => {
    save.clearError();
    setProblem(undefined);
    setDone(undefined);
    onChange(await api<LimitsInfo>(path, { method: 'DELETE' }));
    setDone(`${type} follows the server defaults again.`);
  });

  const submit = (e: FormEvent): void => {
    e.preventDefault();
    setDone(undefined);
    try {
      const limits: ResourceLimits = {};
      if (memory.trim()) limits.memoryBytes = parseBytes(`${type} memory`, memory);
      if (cpu.trim()) limits.cpu = parseCpu(`${type} CPU`, cpu);
      // A PUT replaces the type's limits: keep a task limit set elsewhere (CLI) rather than drop it.
      if (custom.pids !== undefined) limits.pids = custom.pids;
      if (Object.keys(limits).length === 0) {
        throw new Error(`Give ${type} a memory or CPU limit, or reset it to the server defaults.`);
      }
      setProblem(undefined);
      void save.run(limits);
    } catch (err) {
      setProblem((err as Error).message);
    }
  };

  return (
    <form className="m-limits" onSubmit={submit} aria-labelledby={`lim-${type}`}>
      <h3 id={`lim-${type}`}>
        <span className="mono">{type}</span> <span className="g-hint">now {effective(info.types[type])}</span>
      </h3>
      <div className="row m-top">
        <Field
          label={`${type} memory`}
          hint={`e.g. 512M or 1G; default ${bytes(info.defaults.memoryBytes)}${
            info.maxima.memoryBytes ? `, at most ${bytes(info.maxima.memoryBytes)}` : ''
          }`}
        >
          {(id, describedBy) => (
            <input
              id={id}
              className="g-input"
              value={memory}
              placeholder={
                info.types[type]?.memoryBytes === undefined
                  ? ''
                  : formatBytesInput(info.types[type].memoryBytes)
              }
              onChange={(e) => setMemory(e.target.value)}
              aria-describedby={describedBy}
              autoComplete="off"
              spellCheck={false}
            />
          )}
        </Field>
        <Field
          label={`${type} CPU`}
          hint={`cores, e.g. 0.5 or 2; default ${info.defaults.cpu ?? 'no cap'}${
            info.maxima.cpu ? `, at most ${info.maxima.cpu}` : ''
          }`}
        >
          {(id, describedBy) => (
            <input
              id={id}
              className="g-input"
              inputMode="decimal"
              value={cpu}
              onChange={(e) => setCpu(e.target.value)}
              aria-describedby={describedBy}
              autoComplete="off"
            />
          )}
        </Field>
      </div>
      <div className="m-buttons">
        <Button type="submit" kind="primary" busy={save.busy}>
          Save {type} limits
        </Button>
        <Button busy={reset.busy} onClick={() => void reset.run()}>
          Reset {type} limits
        </Button>
      </div>
      <Alert>{problem ?? save.error ?? reset.error}</Alert>
      <Alert kind="ok">{done}</Alert>
    </form>
  );
}

export function Limits({ app, version }: TabProps) {
  const limits = useResource(
    (signal) => api<LimitsInfo>(appPath(app.name, '/limits'), { signal }),
    [app.name, version],
  );
  return (
    <section className="g-card section" aria-labelledby="ps-limits">
      <h2 id="ps-limits">Resource limits</h2>
      <Loaded resource={limits} label="Loading limits…">
        {(info) => {
          const types = Object.keys(info.types).sort();
          return (
            <>
              {!info.enforced && (
                <Alert kind="info">
                  This server does not enforce limits{info.reason ? `: ${info.reason}` : ''}. They are saved
                  and apply once it does.
                </Alert>
              )}
              {types.length === 0 ? (
                <p className="g-hint">Limits can be set per process type after the first deploy.</p>
              ) : (
                types.map((t) => (
                  <LimitsForm key={t} app={app.name} type={t} info={info} onChange={limits.setData} />
                ))
              )}
            </>
          );
        }}
      </Loaded>
    </section>
  );
}
