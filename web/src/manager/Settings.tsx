/** Settings: what the portal shows (title, description, tags), the picture, and deleting the app. */
import { useState, type FormEvent } from 'react';
import { api, appPath } from '../api/client.js';
import type { AppInfo } from '../api/types.js';
import { navigate } from '../router.js';
import { Alert, Button, ConfirmButton, Field } from '../ui/components.js';
import { useAction } from '../ui/hooks.js';
import { Thumbnail } from './Thumbnail.js';
import { isOwner, useSynced, type TabProps } from './shared.js';

/** "Sales, Forecast , sales" → ["sales", "forecast"] (the server checks each tag's form). */
function parseTags(text: string): string[] {
  const tags = text
    .split(',')
    .map((t) => t.trim().toLowerCase())
    .filter(Boolean);
  return [...new Set(tags)];
}

function Details({ app, setApp }: TabProps) {
  const [title, setTitle] = useSynced(app.title ?? '');
  const [description, setDescription] = useSynced(app.description);
  const [tags, setTags] = useSynced(app.tags.join(', '));
  const [saved, setSaved] = useState<string>();
  const save = useAction(async () => {
    setSaved(undefined);
    const info = await api<AppInfo>(appPath(app.name), {
      method: 'PATCH',
      body: { title, description, tags: parseTags(tags) },
    });
    setApp(info);
    setSaved('Saved: the portal shows the new details.');
  });
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    void save.run();
  };
  return (
    <form className="g-card section" onSubmit={submit} aria-labelledby="st-details">
      <h2 id="st-details">Details</h2>
      <p className="g-hint">What people see in the app portal.</p>
      <Field label="Title" hint={`Empty shows the app's name, ${app.name}. Up to 80 characters.`}>
        {(id, d) => (
          <input
            id={id}
            className="g-input"
            value={title}
            onChange={(e) => setTitle(e.target.value)}
            maxLength={80}
            aria-describedby={d}
          />
        )}
      </Field>
      <Field label="Description" hint="One or two sentences, up to 500 characters.">
        {(id, d) => (
          <textarea
            id={id}
            className="g-textarea"
            rows={3}
            value={description}
            onChange={(e) => setDescription(e.target.value)}
            onKeyDown={(e) => {
              // Enter submits like the other fields; Shift+Enter starts a new line.
              if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
                e.preventDefault();
                e.currentTarget.form?.requestSubmit();
              }
            }}
            maxLength={500}
            aria-describedby={d}
          />
        )}
      </Field>
      <Field label="Tags" hint="Comma separated, e.g. sales, forecast (up to 10).">
        {(id, d) => (
          <input
            id={id}
            className="g-input"
            value={tags}
            onChange={(e) => setTags(e.target.value)}
            aria-describedby={d}
            autoComplete="off"
            autoCapitalize="none"
          />
        )}
      </Field>
      <Button type="submit" kind="primary" busy={save.busy}>
        Save details
      </Button>
      <Alert>{save.error}</Alert>
      <Alert kind="ok">{saved}</Alert>
    </form>
  );
}

function DangerZone({ app }: TabProps) {
  const destroy = useAction(async () => {
    await api(appPath(app.name), { method: 'DELETE' });
    navigate('/manage');
  });
  return (
    <section className="g-card section m-danger" aria-labelledby="st-danger">
      <h2 id="st-danger">Danger zone</h2>
      <p>
        Deleting <strong>{app.name}</strong> stops it and removes its releases, config and data. This cannot
        be undone.
      </p>
      <ConfirmButton
        confirm={`Delete ${app.name} for good?`}
        busy={destroy.busy}
        onConfirm={() => void destroy.run()}
      >
        Delete app
      </ConfirmButton>
      <Alert>{destroy.error}</Alert>
    </section>
  );
}

export function Settings(props: TabProps) {
  return (
    <>
      <Details {...props} />
      <Thumbnail {...props} />
      {isOwner(props.app) && <DangerZone {...props} />}
    </>
  );
}
