/** What every tab of the app page receives, and small hooks they share. */
import { useCallback, useLayoutEffect, useRef, useState } from 'react';
import type { AppInfo, BuildInfo } from '../api/types.js';

export interface TabProps {
  app: AppInfo;
  /** Goes up whenever the activity stream reports a change: tabs reload their data on it. */
  version: number;
  /** The newest build the activity stream reported (a push started or ended one), null before any. */
  liveBuild: BuildInfo | null;
  /** Loads the app again (header, status, thumbnail). */
  reloadApp: () => void;
  /** Replaces the app after a write answered with it. */
  setApp: (app: AppInfo) => void;
}

/** Whether the caller may destroy the app and change collaborators (admins count as owners). */
export const isOwner = (app: AppInfo): boolean => app.access === 'own';

/**
 * Keeps a scrolling element pinned to its bottom as content arrives, unless
 * the user scrolled up to read (then it stays put until they scroll back down).
 */
export function useStickToBottom<T extends HTMLElement>(content: unknown) {
  const ref = useRef<T>(null);
  const stick = useRef(true);
  const onScroll = useCallback(() => {
    const el = ref.current;
    if (el) stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 32;
  }, []);
  useLayoutEffect(() => {
    const el = ref.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [content]);
  return { ref, onScroll };
}

/** `v7`, or `—` before the first deploy. */
export const version = (v: number | null | undefined): string =>
  v === null || v === undefined ? '—' : `v${v}`;

/**
 * A form field's state that starts from the server's value and follows it
 * when it changes (after a save or a reload), keeping the user's edits otherwise.
 */
export function useSynced<T>(value: T): [T, (v: T) => void] {
  const [state, setState] = useState(value);
  const [seen, setSeen] = useState(value);
  if (!Object.is(seen, value)) {
    setSeen(value);
    setState(value);
  }
  return [state, setState];
}
