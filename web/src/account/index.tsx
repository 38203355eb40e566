/** The signed-in user's own page (`/account`): who they are, their API tokens and SSH keys. */
import { useSession } from '../session.js';
import { Link } from '../router.js';
import { EmptyState, PageHeader } from '../ui/components.js';
import { KeysSection } from './KeysSection.js';
import { TokensSection } from './TokensSection.js';
import './account.css';

export default function AccountRoutes({ path }: { path: string }) {
  const { user } = useSession();
  if (path.replace(/\/+$/, '') !== '/account') {
    return (
      <EmptyState title="Page not found">
        <p>
          There is nothing at <code>{path}</code>. <Link href="/account">Back to your account</Link>.
        </p>
      </EmptyState>
    );
  }
  return (
    <div className="account">
      <PageHeader
        title="Account"
        sub="Your credentials for the command line, scripts, CI and git over SSH."
      />
      <section className="section g-card" aria-labelledby="account-you">
        <h2 id="account-you">Signed in as {user.username}</h2>
        <dl className="account-facts">
          <div>
            <dt>Role</dt>
            <dd>{user.role}</dd>
          </div>
          <div>
            <dt>Email</dt>
            <dd>{user.email ?? '—'}</dd>
          </div>
          <div>
            <dt>Groups</dt>
            <dd>{user.groups.length ? user.groups.join(', ') : '—'}</dd>
          </div>
        </dl>
      </section>
      <TokensSection />
      <KeysSection />
    </div>
  );
}
