/**
 * Config vars: values hidden until revealed (from the data already loaded,
 * no second request), set and unset; each change is a new release.
 */
import { useState, type FormEvent } from 'react';
import { api, appPath } from '../api/client.js';
import type { ReleaseInfo } from '../api/types.js';
import { Alert, Button, ConfirmButton, Field, Loaded } from '../ui/components.js';
import { useAction, useResource } from '../ui/hooks.js';
import type { TabProps } from './shared.js';

const MASK = '••••••••';

export function Config({ app, version }: TabProps) {
  const vars = useResource(
    (signal) => api<{ vars: Record<string, string> }>(appPath(app.name, '/config'), { signal }),
    [app.name, version],
  );
  const [shown, setShown] = useState<ReadonlySet<string>>(new Set());
  const [key, setKey] = useState('');
  const [value, setValue] = useState('');
  const [saved, setSaved] = useState<string>();
  const [removed, setRemoved] = useState<string>();

  /** PATCHes the change; answers the status text to show. */
  const patch = async (body: { set?: Record<string, string>; unset?: string[] }): Promise<string> => {
    setSaved(undefined);
    setRemoved(undefined);
    const { release } = await api<{ release: ReleaseInfo | null }>(appPath(app.name, '/config'), {
      method: 'PATCH',
      body,
    });
    vars.reload();
    return release ? `Saved: release v${release.version} is rolling out` : 'Saved';
  };
  const change = useAction(async (k: string, v: string) => {
    setSaved(await patch({ set: { [k]: v } }));
    // Shown at once (masked); the reload that patch started confirms it.
    if (vars.data) vars.setData({ vars: { ...vars.data.vars, [k]: v } });
  });
  const remove = useAction(async (k: string) => setRemoved(await patch({ unset: [k] })));

  const toggle = (k: string): void => {
    const next = new Set(shown);
    if (next.has(k)) next.delete(k);
    else next.add(k);
    setShown(next);
  };

  const submit = (e: FormEvent): void => {
    e.preventDefault();
    const k = key.trim();
    void change.run(k, value).then((ok) => {
      if (ok) {
        setKey('');
        setValue('');
      }
    });
  };

  return (
    <>
      <section className="g-card section" aria-labelledby="cf-vars">
        <h2 id="cf-vars">Config vars</h2>
        <p className="g-hint">
          Your app reads them as environment variables. Saving one restarts the app with a new release,
          without downtime.
        </p>
        <Alert>{remove.error}</Alert>
        <Alert kind="ok">{removed}</Alert>
        <Loaded resource={vars} label="Loading config…">
          {({ vars: all }) => {
            const keys = Object.keys(all).sort();
            if (keys.length === 0) return <p className="g-hint">No config vars yet.</p>;
            return (
              <div className="table-wrap">
                <table className="g-table m-config">
                  <thead>
                    <tr>
                      <th scope="col">Name</th>
                      <th scope="col">Value</th>
                      <th scope="col">
                        <span className="g-sr-only">Actions</span>
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {keys.map((k) => (
                      <tr key={k}>
                        <th scope="row" className="mono">
                          {k}
                        </th>
                        <td className="mono m-break">{shown.has(k) ? all[k] : MASK}</td>
                        <td className="m-actions">
                          <Button aria-pressed={shown.has(k)} onClick={() => toggle(k)}>
                            Reveal<span className="g-sr-only"> {k}</span>
                          </Button>
                          <ConfirmButton
                            confirm={`Remove ${k}?`}
                            busy={remove.busy}
                            onConfirm={() => void remove.run(k)}
                          >
                            Remove<span className="g-sr-only"> {k}</span>
                          </ConfirmButton>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            );
          }}
        </Loaded>
      </section>

      <form className="g-card section" onSubmit={submit} aria-labelledby="cf-set">
        <h2 id="cf-set">Set a variable</h2>
        <div className="row">
          <Field label="Name" hint="Letters, digits and _, e.g. DATABASE_URL">
            {(id, describedBy) => (
              <input
                id={id}
                className="g-input mono"
                value={key}
                onChange={(e) => setKey(e.target.value)}
                aria-describedby={describedBy}
                autoComplete="off"
                autoCapitalize="characters"
                spellCheck={false}
                required
              />
            )}
          </Field>
          <Field label="Value">
            {(id) => (
              <input
                id={id}
                className="g-input mono"
                value={value}
                onChange={(e) => setValue(e.target.value)}
                autoComplete="off"
                spellCheck={false}
              />
            )}
          </Field>
          <div className="g-field">
            <Button kind="primary" type="submit" busy={change.busy}>
              Set variable
            </Button>
          </div>
        </div>
        <Alert>{change.error}</Alert>
        <Alert kind="ok">{saved}</Alert>
      </form>
    </>
  );
}
