/** The signed-in user, loaded once before anything renders. */
import { createContext, useContext } from 'react';
import type { SessionInfo } from './api/types.js';

export const SessionContext = createContext<SessionInfo | null>(null);

export function useSession(): SessionInfo {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside <SessionContext>');
  return s;
}

export const isAdmin = (s: SessionInfo): boolean => s.user.role === 'admin';
/** Developers and admins create apps; anyone may be a collaborator on one. */
export const canCreateApps = (s: SessionInfo): boolean => s.user.role !== 'viewer';
