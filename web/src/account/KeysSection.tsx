/** The caller's SSH public keys, for `git push` over SSH. */
import { useState, type FormEvent } from 'react';
import { api } from '../api/client.js';
import type { SshKeyInfo } from '../api/types.js';
import { Alert, Button, Field, Loaded } from '../ui/components.js';
import { dateTime, timeAgo } from '../ui/format.js';
import { useAction, useResource } from '../ui/hooks.js';

export function KeysSection() {
  const keys = useResource(
    (signal) => api<{ keys: SshKeyInfo[] }>('/api/keys', { signal }).then((r) => r.keys),
    [],
  );
  return (
    <section className="section g-card" aria-labelledby="account-keys">
      <h2 id="account-keys">SSH keys</h2>
      <p className="g-hint">
        For <code>git push</code> over SSH to the apps you may deploy. Gantry never sees your private key.
      </p>
      <AddKey onAdded={(k) => keys.setData([...(keys.data ?? []), k])} />
      <h3>Your keys</h3>
      <Loaded resource={keys} label="Loading keys…">
        {(list) =>
          list.length === 0 ? (
            <p>No SSH keys yet.</p>
          ) : (
            <div className="table-wrap">
              <table className="g-table" aria-label="Your SSH keys">
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Fingerprint</th>
                    <th scope="col">Added</th>
                    <th scope="col">Last used</th>
                    <th scope="col">
                      <span className="g-sr-only">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {list.map((k) => (
                    <KeyRow
                      key={k.id}
                      sshKey={k}
                      onRemoved={() => keys.setData(list.filter((x) => x.id !== k.id))}
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

function AddKey({ onAdded }: { onAdded: (k: SshKeyInfo) => void }) {
  const [publicKey, setPublicKey] = useState('');
  const [name, setName] = useState('');
  const [added, setAdded] = useState<string>();
  const add = useAction(async () => {
    const body: { publicKey: string; name?: string } = { publicKey: publicKey.trim() };
    if (name.trim()) body.name = name.trim();
    const r = await api<{ key: SshKeyInfo }>('/api/keys', { method: 'POST', body });
    setPublicKey('');
    setName('');
    setAdded(r.key.name);
    onAdded(r.key);
  });
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    setAdded(undefined);
    void add.run();
  };
  return (
    <form onSubmit={submit} aria-label="Add an SSH key">
      <Field
        label="Public key"
        hint={
          <>
            One line, e.g. the contents of <code>~/.ssh/id_ed25519.pub</code> (starts with{' '}
            <code>ssh-ed25519</code>, <code>ecdsa-sha2-…</code> or <code>ssh-rsa</code>).
          </>
        }
      >
        {(id, hint) => (
          <textarea
            id={id}
            className="g-textarea mono"
            rows={3}
            required
            spellCheck={false}
            autoComplete="off"
            aria-describedby={hint}
            value={publicKey}
            onChange={(e) => setPublicKey(e.target.value)}
          />
        )}
      </Field>
      <div className="row form-top">
        <Field label="Key name" hint="Optional; defaults to the key's comment.">
          {(id, hint) => (
            <input
              id={id}
              className="g-input"
              maxLength={100}
              autoComplete="off"
              aria-describedby={hint}
              value={name}
              onChange={(e) => setName(e.target.value)}
            />
          )}
        </Field>
        <div className="g-field form-submit">
          <Button kind="primary" type="submit" busy={add.busy}>
            Add key
          </Button>
        </div>
      </div>
      <Alert>{add.error}</Alert>
      {added && <Alert kind="ok">Added the key {added}.</Alert>}
    </form>
  );
}

function KeyRow({ sshKey: k, onRemoved }: { sshKey: SshKeyInfo; onRemoved: () => void }) {
  const remove = useAction(async () => {
    await api(`/api/keys/${encodeURIComponent(k.id)}`, { method: 'DELETE' });
    onRemoved();
  });
  return (
    <>
      <tr>
        <th scope="row">
          {k.name}
          <div className="g-hint">{k.type}</div>
        </th>
        <td className="mono account-wrap">{k.fingerprint}</td>
        <td title={dateTime(k.createdAt)}>{timeAgo(k.createdAt)}</td>
        <td title={k.lastUsedAt ? dateTime(k.lastUsedAt) : undefined}>{timeAgo(k.lastUsedAt)}</td>
        <td className="account-actions">
          <Button kind="danger" busy={remove.busy} onClick={() => void remove.run()}>
            Remove<span className="g-sr-only"> {k.name}</span>
          </Button>
        </td>
      </tr>
      {remove.error && (
        <tr className="account-row-error">
          <td colSpan={5}>
            <Alert>{remove.error}</Alert>
          </td>
        </tr>
      )}
    </>
  );
}
