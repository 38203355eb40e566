/** The App Manager: `/manage` (list), `/manage/new`, `/manage/NAME/TAB`. */
import { Link, match } from '../router.js';
import { EmptyState } from '../ui/components.js';
import { AppsPage } from './AppsPage.js';
import { NewApp } from './NewApp.js';
import { AppPage } from './AppPage.js';
import './manager.css';

export default function Routes({ path }: { path: string }) {
  return <div className="m-root">{page(path)}</div>;
}

function page(path: string) {
  if (match('/manage', path)) return <AppsPage />;
  if (match('/manage/new', path)) return <NewApp />;
  const params = match('/manage/:app/:tab?', path);
  if (params?.app) return <AppPage key={params.app} name={params.app} tab={params.tab ?? ''} />;
  return (
    <EmptyState title="Page not found">
      <p>
        There is nothing at <code>{path}</code>. <Link href="/manage">Back to your apps</Link>.
      </p>
    </EmptyState>
  );
}
