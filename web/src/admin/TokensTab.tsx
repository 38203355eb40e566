/** Tokens: every user's API tokens (never the secrets), each revocable. */
import { useId } from 'react';
import { api } from '../api/client.js';
import type { AdminTokenInfo } from '../api/types.js';
import { Alert, Button, Loaded } from '../ui/components.js';
import { dateTime, timeAgo } from '../ui/format.js';
import { useAction, useResource } from '../ui/hooks.js';

export function TokensTab() {
  const tokens = useResource(
    (signal) => api<{ tokens: AdminTokenInfo[] }>('/api/admin/tokens', { signal }).then((r) => r.tokens),
    [],
  );
  return (
    <section className="section g-card" aria-labelledby="admin-tokens">
      <h2 id="admin-tokens">API tokens</h2>
      <p className="g-hint">
        Every user&apos;s tokens, newest first. Revoking one stops scripts and CI jobs that use it at once.
      </p>
      <Loaded resource={tokens} label="Loading tokens…">
        {(list) =>
          list.length === 0 ? (
            <p>No API tokens.</p>
          ) : (
            <div className="table-wrap">
              <table className="g-table" aria-label="API tokens">
                <thead>
                  <tr>
                    <th scope="col">User</th>
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

function TokenRow({ token, onRevoked }: { token: AdminTokenInfo; onRevoked: () => void }) {
  const nameId = useId();
  const revoke = useAction(async () => {
    const user = encodeURIComponent(token.username);
    await api(`/api/tokens/${encodeURIComponent(token.id)}?user=${user}`, { method: 'DELETE' });
    onRevoked();
  });
  const expired = token.expiresAt !== null && new Date(token.expiresAt).getTime() < Date.now();
  return (
    <>
      <tr>
        <td>{token.username}</td>
        <th scope="row" id={nameId}>
          {token.name}
          <span className="g-sr-only"> of {token.username}</span>
        </th>
        <td className="mono">{token.scope}</td>
        <td title={dateTime(token.createdAt)}>{timeAgo(token.createdAt)}</td>
        <td title={token.lastUsedAt ? dateTime(token.lastUsedAt) : undefined}>{timeAgo(token.lastUsedAt)}</td>
        <td title={token.expiresAt ? dateTime(token.expiresAt) : undefined}>
          {token.expiresAt === null ? 'never' : expired ? 'expired' : timeAgo(token.expiresAt)}
        </td>
        <td className="admin-actions">
          {/* Every row's button says "Revoke"; the description names the token for screen readers. */}
          <Button
            kind="danger"
            busy={revoke.busy}
            aria-describedby={nameId}
            onClick={() => void revoke.run()}
          >
            Revoke
          </Button>
        </td>
      </tr>
      {revoke.error && (
        <tr className="admin-row-error">
          <td colSpan={7}>
            <Alert>{revoke.error}</Alert>
          </td>
        </tr>
      )}
    </>
  );
}
