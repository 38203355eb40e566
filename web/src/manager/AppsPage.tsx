/** `/manage`: the apps the user may manage (admins: all), with a way to create one. */
import { api } from '../api/client.js';
import type { AppSummary } from '../api/types.js';
import { Link } from '../router.js';
import { canCreateApps, isAdmin, useSession } from '../session.js';
import { EmptyState, Loaded, PageHeader, StatusBadge } from '../ui/components.js';
import { timeAgo } from '../ui/format.js';
import { useResource } from '../ui/hooks.js';
import { version } from './shared.js';

export function AppsPage() {
  const session = useSession();
  const apps = useResource((signal) => api<{ apps: AppSummary[] }>('/api/apps', { signal }), []);
  const creator = canCreateApps(session);
  const admin = isAdmin(session);
  return (
    <>
      <PageHeader
        title="Manage apps"
        sub="Deploy, configure, scale and share your apps."
        actions={
          creator && (
            <Link className="g-button primary" href="/manage/new">
              New app
            </Link>
          )
        }
      />
      <Loaded resource={apps} label="Loading apps…">
        {({ apps: all }) => {
          const mine = all
            .filter((a) => admin || a.access !== 'view')
            .sort((a, b) => a.name.localeCompare(b.name));
          if (mine.length === 0)
            return (
              <EmptyState title="No apps to manage yet">
                {creator ? (
                  <p>
                    <Link href="/manage/new">Create your first app</Link>, then deploy it with{' '}
                    <code>git push</code>.
                  </p>
                ) : (
                  <p>Apps you own or collaborate on appear here. Ask an app&apos;s owner to add you.</p>
                )}
              </EmptyState>
            );
          return (
            <div className="g-card table-wrap">
              <table className="g-table">
                <caption className="g-sr-only">Apps you manage</caption>
                <thead>
                  <tr>
                    <th scope="col">App</th>
                    <th scope="col">Status</th>
                    <th scope="col">Release</th>
                    <th scope="col" className="m-hide-narrow">
                      Owner
                    </th>
                    <th scope="col" className="m-hide-narrow">
                      Deployed
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {mine.map((a) => (
                    <tr key={a.name}>
                      <td>
                        <Link href={`/manage/${encodeURIComponent(a.name)}`} className="m-app-link">
                          {a.name}
                        </Link>
                        {a.title && <div className="g-hint">{a.title}</div>}
                      </td>
                      <td>
                        <StatusBadge status={a.status} />
                      </td>
                      <td>{version(a.currentVersion)}</td>
                      <td className="m-hide-narrow">{a.owner ?? '—'}</td>
                      <td className="m-hide-narrow">{a.lastDeployAt ? timeAgo(a.lastDeployAt) : 'never'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          );
        }}
      </Loaded>
    </>
  );
}
