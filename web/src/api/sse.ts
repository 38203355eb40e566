/**
 * Live views: one hook over the browser's EventSource (cookie-authenticated,
 * reconnects by itself). Handlers receive each event's JSON data.
 */
import { useEffect, useRef, useState } from 'react';

export type SseHandlers = Record<string, (data: unknown) => void>;

export type SseState = 'connecting' | 'open' | 'closed';

/**
 * Subscribes to `url` (null: not now) while the component is mounted. `handlers`
 * may change between renders without reconnecting. The stream is closed when the
 * server sends `end` (builds) or the component goes away.
 */
export function useEventStream(url: string | null, handlers: SseHandlers): SseState {
  const ref = useRef(handlers);
  ref.current = handlers;
  const [state, setState] = useState<SseState>('connecting');
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
    source.onerror = () => setState(source.readyState === EventSource.CLOSED ? 'closed' : 'connecting');
    return () => {
      for (const [name, listener] of listeners) source.removeEventListener(name, listener);
      source.close();
    };
  }, [url]);
  return state;
}
