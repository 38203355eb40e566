/**
 * The admin console (`/admin/TAB`): resources, users, groups, tokens, sign-in
 * providers and the audit log. The server enforces admin access on every route;
 * the gate here only spares non-admins a page of errors.
 */
import type { ReactNode } from 'react';
import { isAdmin, useSession } from '../session.js';
import { Link } from '../router.js';
import { EmptyState, PageHeader, Tabs, type Tab } from '../ui/components.js';
import { AuditTab } from './AuditTab.js';
import { GroupsTab } from './GroupsTab.js';
import { ResourcesTab } from './ResourcesTab.js';
import { SignInTab } from './SignInTab.js';
import { TokensTab } from './TokensTab.js';
import { UsersTab } from './UsersTab.js';
import './admin.css';

const TABS: (Tab & { render: () => ReactNode })[] = [
  { href: '/admin', label: 'Resources', render: () => <ResourcesTab /> },
  { href: '/admin/users', label: 'Users', render: () => <UsersTab /> },
  { href: '/admin/groups', label: 'Groups', render: () => <GroupsTab /> },
  { href: '/admin/tokens', label: 'Tokens', render: () => <TokensTab /> },
  { href: '/admin/sign-in', label: 'Sign-in', render: () => <SignInTab /> },
  { href: '/admin/audit', label: 'Audit log', render: () => <AuditTab /> },
];

export default function AdminRoutes({ path }: { path: string }) {
  const session = useSession();
  if (!isAdmin(session)) {
    return (
      <>
        <PageHeader title="Admin" />
        <EmptyState title="Admins only">
          <p>
            This console is for administrators. <Link href="/">Back to the apps</Link>.
          </p>
        </EmptyState>
      </>
    );
  }
  const normalized = path.replace(/\/+$/, '') || '/admin';
  const tab = TABS.find((t) => t.href === normalized);
  return (
    <div className="admin">
      <PageHeader title="Admin" sub="Everything on this Gantry server: resources, people and sign-in." />
      <Tabs tabs={TABS} current={tab?.href ?? ''} label="Admin sections" />
      {tab ? (
        tab.render()
      ) : (
        <EmptyState title="Page not found">
          <p>
            There is no admin page at <code>{path}</code>. <Link href="/admin">Back to resources</Link>.
          </p>
        </EmptyState>
      )}
    </div>
  );
}
