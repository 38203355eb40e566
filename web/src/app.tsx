/** The frame of every page: header with navigation, then the page of the current route. */
import { lazy, Suspense, useEffect, useRef } from 'react';
import { signOut } from './api/client.js';
import { Link, useRoute } from './router.js';
import { isAdmin, useSession } from './session.js';
import { EmptyState, Spinner } from './ui/components.js';
import PortalPage from './portal/PortalPage.js';

// The portal is what most people open: it ships in the first bundle; the rest loads on demand.
const ManagerRoutes = lazy(() => import('./manager/index.js'));
const AdminRoutes = lazy(() => import('./admin/index.js'));
const AccountRoutes = lazy(() => import('./account/index.js'));

function section(path: string): 'portal' | 'manage' | 'admin' | 'account' | null {
  if (path === '/') return 'portal';
  const first = path.split('/')[1];
  if (first === 'manage' || first === 'admin' || first === 'account') return first;
  return null;
}

export function App() {
  const session = useSession();
  const { path } = useRoute();
  const current = section(path);
  const main = useRef<HTMLElement>(null);

  // A new page: move focus to it, so keyboard and screen-reader users start at its content.
  useEffect(() => {
    main.current?.focus({ preventScroll: true });
  }, [path]);

  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link className="g-brand" href="/">
          Gantry
        </Link>
        <nav aria-label="Main">
          <Link href="/" aria-current={current === 'portal' ? 'page' : undefined}>
            Apps
          </Link>
          <Link href="/manage" aria-current={current === 'manage' ? 'page' : undefined}>
            Manage
          </Link>
          {isAdmin(session) && (
            <Link href="/admin" aria-current={current === 'admin' ? 'page' : undefined}>
              Admin
            </Link>
          )}
        </nav>
        <div className="user">
          <Link href="/account" aria-current={current === 'account' ? 'page' : undefined}>
            <span className="g-sr-only">Account: </span>
            {session.user.username}
          </Link>
          <button type="button" className="g-button" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        <Suspense fallback={<Spinner />}>
          {current === 'portal' && <PortalPage />}
          {current === 'manage' && <ManagerRoutes path={path} />}
          {current === 'admin' && <AdminRoutes path={path} />}
          {current === 'account' && <AccountRoutes path={path} />}
          {current === null && (
            <EmptyState title="Page not found">
              <p>
                There is nothing at <code>{path}</code>. <Link href="/">Back to the apps</Link>.
              </p>
            </EmptyState>
          )}
        </Suspense>
      </main>
    </>
  );
}
