/** `/manage/new`: name a new app, then go to its Deploys tab for the push instructions. */
import { useState, type FormEvent } from 'react';
import { api } from '../api/client.js';
import type { AppInfo } from '../api/types.js';
import { Link, navigate } from '../router.js';
import { canCreateApps, useSession } from '../session.js';
import { Alert, Button, EmptyState, Field, PageHeader } from '../ui/components.js';
import { useAction } from '../ui/hooks.js';

/** The server's rule (src/apps/names.ts), checked here too so a typo is caught before the round trip. */
const NAME = /^[a-z][a-z0-9-]{0,62}$/;

export function NewApp() {
  const session = useSession();
  const [name, setName] = useState('');
  const [problem, setProblem] = useState<string>();
  const create = useAction(async (n: string) => {
    const app = await api<AppInfo>('/api/apps', { method: 'POST', body: { name: n } });
    navigate(`/manage/${encodeURIComponent(app.name)}/deploys`);
  });

  if (!canCreateApps(session))
    return (
      <EmptyState title="You cannot create apps">
        <p>
          Your role is {session.user.role}: ask an admin to make you a developer. You can still manage apps
          others share with you in <Link href="/manage">Manage apps</Link>.
        </p>
      </EmptyState>
    );

  const submit = (e: FormEvent): void => {
    e.preventDefault();
    const n = name.trim();
    if (!NAME.test(n)) {
      setProblem('Use 1 to 63 lower-case letters, digits or dashes, starting with a letter.');
      return;
    }
    setProblem(undefined);
    void create.run(n);
  };

  return (
    <>
      <PageHeader title="New app" sub={<Link href="/manage">Back to your apps</Link>} />
      <form className="g-card section m-narrow" onSubmit={submit} noValidate>
        <Field label="App name" hint={`It becomes the address: ${location.origin}/apps/NAME/`}>
          {(id, describedBy) => (
            <input
              id={id}
              className="g-input"
              value={name}
              onChange={(e) => setName(e.target.value.toLowerCase())}
              aria-describedby={describedBy}
              aria-invalid={problem ? true : undefined}
              autoComplete="off"
              autoCapitalize="none"
              spellCheck={false}
              maxLength={63}
              required
              autoFocus
            />
          )}
        </Field>
        <Alert>{problem ?? create.error}</Alert>
        <Button kind="primary" type="submit" busy={create.busy}>
          Create app
        </Button>
      </form>
    </>
  );
}
