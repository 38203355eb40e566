/** Sign-in: each SSO provider's health (last check, logins, failures) with a button to check it now. */
import { useId } from 'react';
import { api } from '../api/client.js';
import type { SsoStatus } from '../api/types.js';
import { Alert, Button, EmptyState, Loaded, StatusBadge } from '../ui/components.js';
import { dateTime, timeAgo } from '../ui/format.js';
import { useAction, useResource } from '../ui/hooks.js';

const TYPE_LABEL: Record<SsoStatus['type'], string> = { oidc: 'OpenID Connect', saml: 'SAML', ldap: 'LDAP' };

export function SignInTab() {
  const sso = useResource(
    (signal) => api<{ providers: SsoStatus[] }>('/api/admin/sso', { signal }).then((r) => r.providers),
    [],
  );
  return (
    <Loaded resource={sso} label="Loading sign-in providers…">
      {(providers) =>
        providers.length === 0 ? (
          <EmptyState title="Only local accounts: no SSO provider is configured">
            <p>
              Users sign in with the username and password an admin gave them. To add OpenID Connect, SAML or
              LDAP, set <code>authProviders</code> in <code>gantry.json</code> (or{' '}
              <code>GANTRY_AUTH_PROVIDERS</code>) as the README&apos;s &ldquo;Single sign-on&rdquo; section
              shows, then restart Gantry.
            </p>
          </EmptyState>
        ) : (
          <div className="admin-providers">
            {providers.map((p) => (
              <ProviderCard
                key={p.name}
                provider={p}
                onChecked={(next) => sso.setData(providers.map((x) => (x.name === next.name ? next : x)))}
              />
            ))}
          </div>
        )
      }
    </Loaded>
  );
}

function ProviderCard({
  provider: p,
  onChecked,
}: {
  provider: SsoStatus;
  onChecked: (s: SsoStatus) => void;
}) {
  const headingId = useId();
  const check = useAction(async () => {
    const next = await api<SsoStatus>(`/api/admin/sso/${encodeURIComponent(p.name)}/check`, {
      method: 'POST',
    });
    onChecked(next);
  });
  return (
    <section className="section g-card admin-provider" aria-labelledby={headingId}>
      <div className="admin-group-head">
        <h2 id={headingId}>{p.label}</h2>
        <StatusBadge status={p.status} />
      </div>
      <p className="g-hint">
        {TYPE_LABEL[p.type]} · <span className="mono">{p.name}</span> · new users start as {p.defaultRole}
      </p>
      <p role="status" className={p.status === 'error' ? 'admin-detail-error' : undefined}>
        {p.detail || 'Not checked yet.'}
        {p.checkedAt && <span className="g-hint"> (checked {timeAgo(p.checkedAt)})</span>}
      </p>
      <dl className="admin-stats">
        <div>
          <dt>Logins</dt>
          <dd>{p.logins}</dd>
        </div>
        <div>
          <dt>Last login</dt>
          <dd title={p.lastLoginAt ? dateTime(p.lastLoginAt) : undefined}>{timeAgo(p.lastLoginAt)}</dd>
        </div>
        <div>
          <dt>Failures</dt>
          <dd>{p.failures}</dd>
        </div>
        <div>
          <dt>Last failure</dt>
          <dd title={p.lastFailureAt ? dateTime(p.lastFailureAt) : undefined}>{timeAgo(p.lastFailureAt)}</dd>
        </div>
      </dl>
      {p.lastError && (
        <p>
          <span className="g-label">Last error</span>
          <span className="mono admin-wrap">{p.lastError}</span>
        </p>
      )}
      <Alert>{check.error}</Alert>
      <Button busy={check.busy} onClick={() => void check.run()}>
        Check {p.label}
      </Button>
    </section>
  );
}
