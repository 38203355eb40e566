/** Who may open the app (visibility, viewers) and who may manage it (collaborators; owner or admin changes them). */
import { useState, type FormEvent } from 'react';
import { api, appPath } from '../api/client.js';
import type { AppAccessInfo, Visibility } from '../api/types.js';
import { Alert, Button, Field, Loaded } from '../ui/components.js';
import { useAction, useResource } from '../ui/hooks.js';
import { isOwner, useSynced, type TabProps } from './shared.js';

const VISIBILITY: [Visibility, string][] = [
  ['public', 'Public: anyone with the link, no sign-in'],
  ['authenticated', 'Authenticated: any signed-in user'],
  ['restricted', 'Restricted: viewers, collaborators and the owner'],
];

/** `bob` → `user:bob`; `user:bob` / `group:x` as typed. */
const principal = (s: string): string => (s.includes(':') ? s.trim() : `user:${s.trim()}`);

function PrincipalForm({
  label,
  button,
  onAdd,
}: {
  label: string;
  button: string;
  onAdd: (p: string) => Promise<boolean>;
}) {
  const [text, setText] = useState('');
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    if (!text.trim()) return;
    void onAdd(principal(text)).then((ok) => ok && setText(''));
  };
  return (
    <form className="row" onSubmit={submit}>
      <Field label={label}>
        {(id) => (
          <input
            id={id}
            className="g-input"
            value={text}
            onChange={(e) => setText(e.target.value)}
            placeholder="user:alice"
            autoComplete="off"
            autoCapitalize="none"
            spellCheck={false}
          />
        )}
      </Field>
      <div className="g-field">
        <Button type="submit" kind="primary">
          {button}
        </Button>
      </div>
    </form>
  );
}

function Principals({
  list,
  remove,
  prefix,
}: {
  list: string[];
  remove?: (p: string) => void;
  prefix: string;
}) {
  if (list.length === 0) return <p className="g-hint">None yet.</p>;
  return (
    <ul className="m-rows">
      {list.map((p) => (
        <li key={p} className="m-row">
          <span className="mono m-grow">{p}</span>
          {remove && (
            <Button onClick={() => remove(p)}>
              Remove
              <span className="g-sr-only">
                {' '}
                {prefix}
                {p}
              </span>
            </Button>
          )}
        </li>
      ))}
    </ul>
  );
}

export function Access({ app, version, reloadApp }: TabProps) {
  const access = useResource(
    (signal) => api<AppAccessInfo>(appPath(app.name, '/access'), { signal }),
    [app.name, version],
  );
  const owner = isOwner(app);
  const [visibility, setVisibility] = useSynced<Visibility>(access.data?.visibility ?? app.visibility);
  const [saved, setSaved] = useState<string>();
  const call = async (method: 'PUT' | 'POST' | 'DELETE', rest: string, body?: unknown): Promise<void> => {
    const next = await api<Partial<AppAccessInfo>>(appPath(app.name, rest), { method, body });
    // Collaborator routes answer owner and collaborators only: keep the rest.
    if (access.data) access.setData({ ...access.data, ...next });
  };
  const saveVisibility = useAction(async (v: Visibility) => {
    setSaved(undefined);
    await call('PUT', '/access/visibility', { visibility: v });
    setSaved(`Saved: the app is ${v}.`);
    reloadApp();
  });
  const viewers = useAction(async (op: 'add' | 'remove', p: string) =>
    op === 'add'
      ? call('POST', '/access', { principal: p })
      : call('DELETE', `/access/${encodeURIComponent(p)}`),
  );
  const collaborators = useAction(async (op: 'add' | 'remove', p: string) =>
    op === 'add'
      ? call('POST', '/collaborators', { principal: p })
      : call('DELETE', `/collaborators/${encodeURIComponent(p)}`),
  );

  return (
    <Loaded resource={access} label="Loading access…">
      {(info) => (
        <>
          <form
            className="g-card section"
            aria-labelledby="ac-vis"
            onSubmit={(e) => {
              e.preventDefault();
              void saveVisibility.run(visibility);
            }}
          >
            <h2 id="ac-vis">Who may open the app</h2>
            <div className="row">
              <Field label="Visibility">
                {(id) => (
                  <select
                    id={id}
                    className="g-select"
                    value={visibility}
                    onChange={(e) => setVisibility(e.target.value as Visibility)}
                  >
                    {VISIBILITY.map(([v, text]) => (
                      <option key={v} value={v}>
                        {text}
                      </option>
                    ))}
                  </select>
                )}
              </Field>
              <div className="g-field">
                <Button type="submit" kind="primary" busy={saveVisibility.busy}>
                  Save visibility
                </Button>
              </div>
            </div>
            <Alert>{saveVisibility.error}</Alert>
            <Alert kind="ok">{saved}</Alert>
          </form>

          <section className="g-card section" aria-labelledby="ac-viewers">
            <h2 id="ac-viewers">Viewers</h2>
            <p className="g-hint">Users and groups who may open the app when it is restricted.</p>
            <Principals list={info.viewers} prefix="" remove={(p) => void viewers.run('remove', p)} />
            <PrincipalForm
              label="Viewer (user:NAME or group:NAME)"
              button="Add viewer"
              onAdd={(p) => viewers.run('add', p)}
            />
            <Alert>{viewers.error}</Alert>
          </section>

          <section className="g-card section" aria-labelledby="ac-collab">
            <h2 id="ac-collab">Collaborators</h2>
            <p className="g-hint">
              Owner: <strong>{info.owner ?? 'nobody (admins manage it)'}</strong>. Collaborators may deploy,
              configure, scale and share the app
              {owner ? '' : '; only the owner or an admin changes who they are'}.
            </p>
            <Principals
              list={info.collaborators}
              prefix="collaborator "
              remove={owner ? (p) => void collaborators.run('remove', p) : undefined}
            />
            {owner && (
              <PrincipalForm
                label="Collaborator (user:NAME or group:NAME)"
                button="Add collaborator"
                onAdd={(p) => collaborators.run('add', p)}
              />
            )}
            <Alert>{collaborators.error}</Alert>
          </section>
        </>
      )}
    </Loaded>
  );
}
