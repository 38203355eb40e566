/**
 * Live views: one hook over the browser's EventSource (cookie-authenticated,
 * reconnects by itself). Handlers receive each event's JSON data.
 */
import { useEffect, useRef, useState } from 'react';

export type SseHandlers = Record<string, (data: unknown) => void>;

export type SseState = 'connecting' | 'open' | 'closed';

/**
 * The browser retries a dropped stream by itself, but gives up for good on an
 * HTTP error (a proxy's 502 while Gantry restarts): we try again after this.
 */
const RETRY_MS = 5_000;

/**
 * Subscribes to `url` (null: not now) while the component is mounted. `handlers`
 * may change between renders without reconnecting. The stream is closed when the
 * server sends `end` (builds) or the component goes away.
 */
export function useEventStream(url: string | null, handlers: SseHandlers): SseState {
  const ref = useRef(handlers);
  ref.current = handlers;
  const [state, setState] = useState<SseState>('connecting');
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    if (url === null) return;
    setState('connecting');
    const source = new EventSource(url, { withCredentials: true });
    const names = new Set([...Object.keys(ref.current), 'end']);
    const listeners: [string, (e: MessageEvent<string>) => void][] = [];
    for (const name of names) {
      const listener = (e: MessageEvent<string>): void => {
        let data: unknown;
        try {
          data = JSON.parse(e.data) as unknown;
        } catch {
          data = e.data;
        }
        ref.current[name]?.(data);
        if (name === 'end') {
          source.close();
          setState('closed');
        }
      };
      source.addEventListener(name, listener);
      listeners.push([name, listener]);
    }
    source.onopen = () => setState('open');
    let retry: number | undefined;
    source.onerror = () => {
      setState('connecting');
      if (source.readyState !== EventSource.CLOSED) return;
      source.close();
      retry = window.setTimeout(() => setAttempt((n) => n + 1), RETRY_MS);
    };
    return () => {
      window.clearTimeout(retry);
      for (const [name, listener] of listeners) source.removeEventListener(name, listener);
      source.close();
    };
  }, [url, attempt]);
  return state;
}
