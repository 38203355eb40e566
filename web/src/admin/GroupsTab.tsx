/**
 * Groups: local groups are edited here; groups filled by an SSO provider are
 * shown read-only (the provider replaces their members at each login).
 */
import { useId, useState, type FormEvent } from 'react';
import { api } from '../api/client.js';
import type { GroupInfo } from '../api/types.js';
import { Alert, Button, ConfirmButton, EmptyState, Field, Loaded } from '../ui/components.js';
import { useAction, useResource } from '../ui/hooks.js';

const groupPath = (g: string, rest = ''): string => `/api/groups/${encodeURIComponent(g)}${rest}`;
const memberPath = (g: string, u: string): string => groupPath(g, `/members/${encodeURIComponent(u)}`);

export function GroupsTab() {
  const groups = useResource(
    (signal) => api<{ groups: GroupInfo[] }>('/api/groups', { signal }).then((r) => r.groups),
    [],
  );
  return (
    <>
      <CreateGroup onCreated={groups.reload} />
      <h2 className="admin-subhead">Groups</h2>
      <Loaded resource={groups} label="Loading groups…">
        {(list) =>
          list.length === 0 ? (
            <EmptyState title="No groups yet">
              <p>Groups let you share apps with many people at once.</p>
            </EmptyState>
          ) : (
            <div className="admin-groups">
              {list.map((g) => (
                <GroupCard
                  key={g.name}
                  group={g}
                  onChanged={(next) => groups.setData(list.map((x) => (x.name === next.name ? next : x)))}
                  onDeleted={() => groups.setData(list.filter((x) => x.name !== g.name))}
                />
              ))}
            </div>
          )
        }
      </Loaded>
    </>
  );
}

function CreateGroup({ onCreated }: { onCreated: () => void }) {
  const [name, setName] = useState('');
  const create = useAction(async () => {
    await api('/api/groups', { method: 'POST', body: { name: name.trim() } });
    setName('');
    onCreated();
  });
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    void create.run();
  };
  return (
    <section className="section g-card" aria-labelledby="admin-new-group">
      <h2 id="admin-new-group">Create a group</h2>
      <form onSubmit={submit}>
        <div className="row">
          <Field label="Group name">
            {(id) => (
              <input
                id={id}
                className="g-input"
                required
                autoComplete="off"
                value={name}
                onChange={(e) => setName(e.target.value)}
              />
            )}
          </Field>
          <div className="g-field">
            <Button kind="primary" type="submit" busy={create.busy}>
              Create group
            </Button>
          </div>
        </div>
        <Alert>{create.error}</Alert>
      </form>
    </section>
  );
}

function GroupCard({
  group,
  onChanged,
  onDeleted,
}: {
  group: GroupInfo;
  onChanged: (g: GroupInfo) => void;
  onDeleted: () => void;
}) {
  const local = group.source === 'local';
  const [member, setMember] = useState('');
  const headingId = useId();
  const add = useAction(async () => {
    const r = await api<{ group: GroupInfo }>(memberPath(group.name, member.trim()), { method: 'PUT' });
    setMember('');
    onChanged(r.group);
  });
  const removeMember = useAction(async (username: string) => {
    const r = await api<{ group: GroupInfo }>(memberPath(group.name, username), { method: 'DELETE' });
    onChanged(r.group);
  });
  const destroy = useAction(async () => {
    await api(groupPath(group.name), { method: 'DELETE' });
    onDeleted();
  });
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    void add.run();
  };
  return (
    <section className="section g-card admin-group" aria-labelledby={headingId}>
      <div className="admin-group-head">
        <h3 id={headingId}>{group.name}</h3>
        {local ? (
          <ConfirmButton
            confirm={`Delete group ${group.name} and its grants on apps?`}
            onConfirm={() => void destroy.run()}
            busy={destroy.busy}
          >
            Delete group<span className="g-sr-only"> {group.name}</span>
          </ConfirmButton>
        ) : (
          <span className="g-badge">managed by {group.source}</span>
        )}
      </div>
      {!local && (
        <p className="g-hint">
          Members come from the {group.source} sign-in provider and are replaced at each login.
        </p>
      )}
      <Alert>{destroy.error ?? removeMember.error}</Alert>
      {group.members.length === 0 ? (
        <p className="g-hint">No members.</p>
      ) : (
        <ul className="admin-members" aria-label={`Members of ${group.name}`}>
          {group.members.map((m) => (
            <li key={m}>
              <span>{m}</span>
              {local && (
                <Button
                  className="admin-small"
                  busy={removeMember.busy}
                  onClick={() => void removeMember.run(m)}
                >
                  Remove
                  <span className="g-sr-only">
                    {' '}
                    {m} from {group.name}
                  </span>
                </Button>
              )}
            </li>
          ))}
        </ul>
      )}
      {local && (
        <form onSubmit={submit}>
          <div className="row">
            <Field label={`Add member to ${group.name}`}>
              {(id) => (
                <input
                  id={id}
                  className="g-input"
                  required
                  autoComplete="off"
                  value={member}
                  onChange={(e) => setMember(e.target.value)}
                />
              )}
            </Field>
            <div className="g-field">
              <Button type="submit" busy={add.busy}>
                Add to {group.name}
              </Button>
            </div>
          </div>
          <Alert>{add.error}</Alert>
        </form>
      )}
    </section>
  );
}
