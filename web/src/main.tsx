import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import 'virtual:gantry-theme.css';
import './styles.css';
import { ApiError, loadSession, signInUrl } from './api/client.js';
import { SessionContext } from './session.js';
import { App } from './app.js';

const root = createRoot(document.getElementById('root')!);

loadSession().then(
  (session) =>
    root.render(
      <StrictMode>
        <SessionContext.Provider value={session}>
          <App />
        </SessionContext.Provider>
      </StrictMode>,
    ),
  (e: unknown) => {
    if (e instanceof ApiError && e.status === 401) {
      location.assign(signInUrl());
      return;
    }
    root.render(
      <main className="g-page-error g-card" role="alert">
        <h1>Gantry is not answering</h1>
        <p>{e instanceof Error ? e.message : String(e)}</p>
        <p>Reload the page in a moment.</p>
      </main>,
    );
  },
);
