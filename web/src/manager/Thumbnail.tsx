/** The app's portal picture: the current one, an upload, a capture now, or back to automatic captures. */
import { useState, type ChangeEvent } from 'react';
import { api, appPath, request } from '../api/client.js';
import type { ThumbnailInfo } from '../api/types.js';
import { Alert, Button, Field } from '../ui/components.js';
import { timeAgo } from '../ui/format.js';
import { useAction } from '../ui/hooks.js';
import type { TabProps } from './shared.js';

const TYPES = ['image/png', 'image/jpeg', 'image/webp'];
const MAX_BYTES = 2 * 1024 * 1024;

export function Thumbnail({ app, reloadApp }: TabProps) {
  const [done, setDone] = useState<string>();
  const path = appPath(app.name, '/thumbnail');
  const act = (fn: () => Promise<string>) => async (): Promise<void> => {
    setDone(undefined);
    setDone(await fn());
    reloadApp();
  };
  const upload = useAction(async (file: File) => {
    setDone(undefined);
    capture.clearError();
    automatic.clearError();
    if (!TYPES.includes(file.type)) throw new Error('Choose a PNG, JPEG or WebP image.');
    if (file.size > MAX_BYTES) throw new Error('The picture is larger than 2 MB: choose a smaller one.');
    await act(async () => {
      await request(path, { method: 'PUT', body: file, contentType: file.type });
      return 'Uploaded: the portal shows your picture.';
    })();
  });
  const capture = useAction(
    act(async () => {
      await api<ThumbnailInfo>(`${path}/capture`, { method: 'POST' });
      return 'Captured: the picture shows the app as it is now.';
    }),
  );
  const automatic = useAction(
    act(async () => {
      await api(path, { method: 'DELETE' });
      return 'Back to automatic pictures: a new one is being captured.';
    }),
  );
  const onFile = (e: ChangeEvent<HTMLInputElement>): void => {
    const file = e.target.files?.[0];
    e.target.value = '';
    if (file) void upload.run(file);
  };
  const t = app.thumbnail;
  const busy = upload.busy || capture.busy || automatic.busy;

  return (
    <section className="g-card section" aria-labelledby="st-thumb">
      <h2 id="st-thumb">Picture</h2>
      <div className="m-thumb">
        {t ? (
          <figure>
            <img src={t.url} alt="Current thumbnail" width={320} height={200} />
            <figcaption className="g-hint">
              {t.source === 'upload' ? 'Uploaded' : 'Captured automatically'} {timeAgo(t.updatedAt)}
            </figcaption>
          </figure>
        ) : (
          <p className="g-hint m-thumb-empty">
            No picture yet: one is captured after each deploy, or upload your own.
          </p>
        )}
        <div>
          <Field
            label="Upload a picture"
            hint="PNG, JPEG or WebP, up to 2 MB; automatic captures stop replacing it."
          >
            {(id, d) => (
              <input
                id={id}
                type="file"
                accept={TYPES.join(',')}
                onChange={onFile}
                aria-describedby={d}
                disabled={busy}
              />
            )}
          </Field>
          <div className="m-buttons">
            <Button busy={capture.busy} onClick={() => void capture.run()}>
              {capture.busy ? 'Capturing…' : 'Capture now'}
            </Button>
            <Button busy={automatic.busy} onClick={() => void automatic.run()}>
              Use automatic picture
            </Button>
          </div>
          {upload.busy && <p role="status">Uploading…</p>}
          <Alert>{upload.error ?? capture.error ?? automatic.error}</Alert>
          <Alert kind="ok">{done}</Alert>
        </div>
      </div>
    </section>
  );
}
