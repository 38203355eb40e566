/** The caller's API tokens: create one (shown once), list them, revoke them. */
import { useState, type FormEvent } from 'react';
import { api } from '../api/client.js';
import type { AppSummary, TokenInfo } from '../api/types.js';
import { Alert, Button, CopyBlock, Field, Loaded } from '../ui/components.js';
import { dateTime, timeAgo } from '../ui/format.js';
import { useAction, useResource } from '../ui/hooks.js';

const DAY = 24 * 3600;
/** Expiry choices → `expiresIn` seconds ('' = never). */
const EXPIRIES: { value: string; label: string }[] = [
  { value: '', label: 'Never' },
  { value: String(DAY), label: '1 day' },
  { value: String(30 * DAY), label: '30 days' },
  { value: String(365 * DAY), label: '1 year' },
];

export function TokensSection() {
  const tokens = useResource(
    (signal) => api<{ tokens: TokenInfo[] }>('/api/tokens', { signal }).then((r) => r.tokens),
    [],
  );
  const [created, setCreated] = useState<{ token: string; name: string }>();
  return (
    <section className="section g-card" aria-labelledby="account-tokens">
      <h2 id="account-tokens">API tokens</h2>
      <p className="g-hint">
        For the <code>gantry</code> command line, scripts and CI. A token acts as you, within its scope.
      </p>
      {created && (
        <div className="account-new-token">
          <Alert kind="info">
            Copy the token <strong>{created.name}</strong> now: it won&apos;t be shown again.
          </Alert>
          <CopyBlock label="New token" text={created.token} />
          <Button onClick={() => setCreated(undefined)}>Done</Button>
        </div>
      )}
      <CreateToken
        onCreated={(token, info) => {
          setCreated({ token, name: info.name });
          tokens.setData([info, ...(tokens.data ?? [])]);
        }}
      />
      <h3>Your tokens</h3>
      <Loaded resource={tokens} label="Loading tokens…">
        {(list) =>
          list.length === 0 ? (
            <p>No tokens yet.</p>
          ) : (
            <div className="table-wrap">
              <table className="g-table" aria-label="Your API tokens">
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Scope</th>
                    <th scope="col">Created</th>
                    <th scope="col">Last used</th>
                    <th scope="col">Expires</th>
                    <th scope="col">
                      <span className="g-sr-only">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {list.map((t) => (
                    <TokenRow
                      key={t.id}
                      token={t}
                      onRevoked={() => tokens.setData(list.filter((x) => x.id !== t.id))}
                    />
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

function CreateToken({ onCreated }: { onCreated: (token: string, info: TokenInfo) => void }) {
  const [name, setName] = useState('');
  const [scope, setScope] = useState('full');
  const [expiry, setExpiry] = useState('');
  // Apps the user may deploy, for tokens limited to one app (CI pipelines).
  const apps = useResource(
    (signal) =>
      api<{ apps: AppSummary[] }>('/api/apps', { signal }).then((r) =>
        r.apps.filter((a) => a.access !== 'view').map((a) => a.name),
      ),
    [],
  );
  const create = useAction(async () => {
    const body: { name: string; scope: string; expiresIn?: number } = { name: name.trim(), scope };
    if (expiry) body.expiresIn = Number(expiry);
    const r = await api<{ token: string; info: TokenInfo }>('/api/tokens', { method: 'POST', body });
    setName('');
    onCreated(r.token, r.info);
  });
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    void create.run();
  };
  return (
    <form onSubmit={submit} aria-label="Create a token">
      <div className="row form-top">
        <Field label="Token name" hint="What uses it, e.g. laptop or github-actions.">
          {(id, hint) => (
            <input
              id={id}
              className="g-input"
              required
              maxLength={100}
              autoComplete="off"
              aria-describedby={hint}
              value={name}
              onChange={(e) => setName(e.target.value)}
            />
          )}
        </Field>
        <Field label="Scope">
          {(id) => (
            <select id={id} className="g-select" value={scope} onChange={(e) => setScope(e.target.value)}>
              <option value="full">full: everything you may do</option>
              <option value="read">read: look, change nothing</option>
              {(apps.data ?? []).length > 0 && (
                <optgroup label="Deploy and manage one app">
                  {(apps.data ?? []).map((a) => (
                    <option key={a} value={`app:${a}`}>
                      app:{a}
                    </option>
                  ))}
                </optgroup>
              )}
            </select>
          )}
        </Field>
        <Field label="Expires">
          {(id) => (
            <select id={id} className="g-select" value={expiry} onChange={(e) => setExpiry(e.target.value)}>
              {EXPIRIES.map((x) => (
                <option key={x.value} value={x.value}>
                  {x.label}
                </option>
              ))}
            </select>
          )}
        </Field>
        <div className="g-field form-submit">
          <Button kind="primary" type="submit" busy={create.busy}>
            Create token
          </Button>
        </div>
      </div>
      <Alert>{create.error}</Alert>
    </form>
  );
}

function TokenRow({ token, onRevoked }: { token: TokenInfo; onRevoked: () => void }) {
  const revoke = useAction(async () => {
    await api(`/api/tokens/${encodeURIComponent(token.id)}`, { method: 'DELETE' });
    onRevoked();
  });
  const expired = token.expiresAt !== null && new Date(token.expiresAt).getTime() < Date.now();
  return (
    <>
      <tr>
        <th scope="row">{token.name}</th>
        <td className="mono">{token.scope}</td>
        <td title={dateTime(token.createdAt)}>{timeAgo(token.createdAt)}</td>
        <td title={token.lastUsedAt ? dateTime(token.lastUsedAt) : undefined}>{timeAgo(token.lastUsedAt)}</td>
        <td title={token.expiresAt ? dateTime(token.expiresAt) : undefined}>
          {token.expiresAt === null ? 'never' : expired ? 'expired' : timeAgo(token.expiresAt)}
        </td>
        <td className="account-actions">
          <Button kind="danger" busy={revoke.busy} onClick={() => void revoke.run()}>
            Revoke<span className="g-sr-only"> {token.name}</span>
          </Button>
        </td>
      </tr>
      {revoke.error && (
        <tr className="account-row-error">
          <td colSpan={6}>
            <Alert>{revoke.error}</Alert>
          </td>
        </tr>
      )}
    </>
  );
}
