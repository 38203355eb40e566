/** A build's output: streamed live while it runs, or read whole once it ended. */
import { useEffect, useRef, useState } from 'react';
import { api, appPath } from '../api/client.js';
import { useEventStream } from '../api/sse.js';
import type { BuildInfo } from '../api/types.js';
import { Loaded } from '../ui/components.js';
import { useResource } from '../ui/hooks.js';
import { useStickToBottom } from './shared.js';

function LogPre({ text, label }: { text: string; label: string }) {
  const { ref, onScroll } = useStickToBottom<HTMLPreElement>(text);
  return (
    <pre ref={ref} onScroll={onScroll} className="log m-log" aria-label={label} tabIndex={0}>
      {text}
    </pre>
  );
}

/**
 * Follows `/builds/ID/stream`: the first `output` is the backlog, then each
 * chunk; `end` carries the finished build. After a reconnect the server
 * sends the backlog again, so the next chunk replaces the text instead of
 * adding to it.
 */
export function LiveBuildLog({
  app,
  id,
  label = 'Build log',
  onEnd,
}: {
  app: string;
  id: string;
  label?: string;
  onEnd?: (build: BuildInfo) => void;
}) {
  const [text, setText] = useState('');
  const [received, setReceived] = useState(false);
  const fresh = useRef(true);
  const state = useEventStream(appPath(app, `/builds/${encodeURIComponent(id)}/stream`), {
    output: (data) => {
      const chunk = typeof data === 'string' ? data : JSON.stringify(data);
      setReceived(true);
      if (fresh.current) {
        fresh.current = false;
        setText(chunk);
      } else setText((t) => t + chunk);
    },
    end: (build) => onEnd?.(build as BuildInfo),
  });
  useEffect(() => {
    if (state === 'connecting') fresh.current = true;
  }, [state]);
  return (
    <>
      <LogPre text={text || (received ? '' : 'Waiting for the build’s output…')} label={label} />
      {state === 'connecting' && received && <p className="g-hint">Reconnecting…</p>}
    </>
  );
}

/** The whole output of a finished build. */
export function StoredBuildLog({ app, id, label }: { app: string; id: string; label: string }) {
  const log = useResource(
    (signal) => api<string>(appPath(app, `/builds/${encodeURIComponent(id)}/log`), { signal }),
    [app, id],
  );
  return (
    <Loaded resource={log} label="Loading the build log…">
      {(text) => <LogPre text={text || '(no output)'} label={label} />}
    </Loaded>
  );
}
