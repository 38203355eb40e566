/** Users: every account with its role (changed in place), and a form to create local users. */
import { useState, type FormEvent } from 'react';
import { api } from '../api/client.js';
import type { Role, UserInfo } from '../api/types.js';
import { useSession } from '../session.js';
import { Alert, Button, ConfirmButton, Field, Loaded } from '../ui/components.js';
import { useAction, useResource } from '../ui/hooks.js';

const ROLES: { value: Role; label: string }[] = [
  { value: 'admin', label: 'admin' },
  { value: 'developer', label: 'developer' },
  { value: 'viewer', label: 'viewer' },
];

const userPath = (name: string): string => `/api/users/${encodeURIComponent(name)}`;

export function UsersTab() {
  const users = useResource(
    (signal) => api<{ users: UserInfo[] }>('/api/users', { signal }).then((r) => r.users),
    [],
  );
  return (
    <>
      <section className="section g-card" aria-labelledby="admin-users">
        <h2 id="admin-users">Users</h2>
        <p className="g-hint">
          Admins manage everything; developers create apps; viewers open the apps shared with them.
        </p>
        <Loaded resource={users} label="Loading users…">
          {(list) => (
            <div className="table-wrap">
              <table className="g-table" aria-label="Users">
                <thead>
                  <tr>
                    <th scope="col">Username</th>
                    <th scope="col">Role</th>
                    <th scope="col">Email</th>
                    <th scope="col">Source</th>
                    <th scope="col">Groups</th>
                    <th scope="col">
                      <span className="g-sr-only">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {list.map((u) => (
                    <UserRow
                      key={u.id}
                      user={u}
                      onChanged={(next) => users.setData(list.map((x) => (x.id === next.id ? next : x)))}
                      onDeleted={() => users.setData(list.filter((x) => x.id !== u.id))}
                    />
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </Loaded>
      </section>
      <CreateUser onCreated={users.reload} />
    </>
  );
}

function UserRow({
  user,
  onChanged,
  onDeleted,
}: {
  user: UserInfo;
  onChanged: (u: UserInfo) => void;
  onDeleted: () => void;
}) {
  const session = useSession();
  const setRole = useAction(async (role: Role) => {
    const r = await api<{ user: UserInfo }>(userPath(user.username), { method: 'PATCH', body: { role } });
    onChanged(r.user);
  });
  const remove = useAction(async () => {
    await api(userPath(user.username), { method: 'DELETE' });
    onDeleted();
  });
  const error = setRole.error ?? remove.error;
  const self = user.username === session.user.username;
  return (
    <>
      <tr>
        <th scope="row">
          {user.username}
          {self && <span className="g-hint"> (you)</span>}
        </th>
        <td>
          <select
            className="g-select admin-role"
            aria-label={`Role of ${user.username}`}
            value={user.role}
            disabled={setRole.busy}
            onChange={(e) => void setRole.run(e.target.value as Role)}
          >
            {ROLES.map((r) => (
              <option key={r.value} value={r.value}>
                {r.label}
              </option>
            ))}
          </select>
        </td>
        <td>{user.email ?? <span className="g-hint">—</span>}</td>
        <td>{user.source}</td>
        <td>{user.groups.length ? user.groups.join(', ') : <span className="g-hint">—</span>}</td>
        <td className="admin-actions">
          <ConfirmButton
            confirm={`Delete ${user.username}, their tokens and keys?`}
            onConfirm={() => void remove.run()}
            busy={remove.busy}
          >
            Delete<span className="g-sr-only"> {user.username}</span>
          </ConfirmButton>
        </td>
      </tr>
      {error && (
        <tr className="admin-row-error">
          <td colSpan={6}>
            <Alert>{error}</Alert>
          </td>
        </tr>
      )}
    </>
  );
}

function CreateUser({ onCreated }: { onCreated: () => void }) {
  const [username, setUsername] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<Role>('developer');
  const [created, setCreated] = useState<string>();
  const create = useAction(async () => {
    const body: Record<string, string> = { username: username.trim(), role };
    if (email.trim()) body.email = email.trim();
    if (password) body.password = password;
    const r = await api<{ user: UserInfo }>('/api/users', { method: 'POST', body });
    setCreated(r.user.username);
    setUsername('');
    setEmail('');
    setPassword('');
    onCreated();
  });
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    setCreated(undefined);
    void create.run();
  };
  return (
    <section className="section g-card" aria-labelledby="admin-new-user">
      <h2 id="admin-new-user">Create a user</h2>
      <form onSubmit={submit}>
        <div className="row form-top">
          <Field label="Username">
            {(id) => (
              <input
                id={id}
                className="g-input"
                required
                autoComplete="off"
                value={username}
                onChange={(e) => setUsername(e.target.value)}
              />
            )}
          </Field>
          <Field label="Email" hint="Optional.">
            {(id, hint) => (
              <input
                id={id}
                type="email"
                className="g-input"
                aria-describedby={hint}
                autoComplete="off"
                value={email}
                onChange={(e) => setEmail(e.target.value)}
              />
            )}
          </Field>
          <Field label="Password" hint="Optional: without one, they sign in through SSO or with tokens.">
            {(id, hint) => (
              <input
                id={id}
                type="password"
                className="g-input"
                aria-describedby={hint}
                autoComplete="new-password"
                value={password}
                onChange={(e) => setPassword(e.target.value)}
              />
            )}
          </Field>
          <Field label="Role">
            {(id) => (
              <select
                id={id}
                className="g-select"
                value={role}
                onChange={(e) => setRole(e.target.value as Role)}
              >
                {ROLES.map((r) => (
                  <option key={r.value} value={r.value}>
                    {r.label}
                  </option>
                ))}
              </select>
            )}
          </Field>
        </div>
        <Alert>{create.error}</Alert>
        {created && <Alert kind="ok">Created user {created}.</Alert>}
        <Button kind="primary" type="submit" busy={create.busy}>
          Create user
        </Button>
      </form>
    </section>
  );
}
