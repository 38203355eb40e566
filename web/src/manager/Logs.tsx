/**
 * Live logs over SSE: the last lines, then each new one. Keeps the newest
 * 2,000 lines; search and the process filter narrow what is shown; pause
 * freezes the view while lines keep arriving underneath.
 */
import { useEffect, useRef, useState } from 'react';
import { appPath } from '../api/client.js';
import { useEventStream } from '../api/sse.js';
import type { StreamLogLine } from '../api/types.js';
import { Button, Field } from '../ui/components.js';
import { appendCapped, highlight, lineMatches, processChoices, shortProcess } from './logtext.js';
import { useStickToBottom, type TabProps } from './shared.js';

const KEEP = 2000;
const BACKLOG = 500;
/** Lines are rendered in batches: a busy app writes hundreds a second. */
const FLUSH_MS = 100;

interface Line extends StreamLogLine {
  id: number;
}

const clock = (iso: string): string =>
  new Date(iso).toLocaleTimeString(undefined, {
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hour12: false,
  });

export function Logs({ app }: TabProps) {
  const [process, setProcess] = useState('');
  const [query, setQuery] = useState('');
  const [paused, setPaused] = useState(false);
  const [lines, setLines] = useState<Line[]>([]);
  // Processes seen in the stream (a crashed or scaled-down one is no longer in app.processes).
  const [seen, setSeen] = useState<ReadonlySet<string>>(new Set());
  const all = useRef<Line[]>([]);
  const pending = useRef<Line[]>([]);
  const timer = useRef<number | undefined>(undefined);
  const fresh = useRef(true);
  const seq = useRef(0);
  const pausedRef = useRef(paused);
  pausedRef.current = paused;

  const url = appPath(
    app.name,
    `/logs/stream?lines=${BACKLOG}${process ? `&process=${encodeURIComponent(process)}` : ''}`,
  );

  const flush = (): void => {
    timer.current = undefined;
    const added = pending.current;
    all.current = appendCapped(all.current, added, KEEP);
    const names = new Set(added.map((l) => l.process));
    setSeen((old) => ([...names].every((n) => old.has(n)) ? old : new Set([...old, ...names])));
    pending.current = [];
    if (!pausedRef.current) setLines(all.current);
  };

  const state = useEventStream(url, {
    line: (data) => {
      const l = data as StreamLogLine;
      // Each (re)connection starts with the backlog again: it replaces what we had.
      if (fresh.current) {
        fresh.current = false;
        all.current = [];
        pending.current = [];
      }
      pending.current.push({ ...l, id: seq.current++ });
      if (pending.current.length > KEEP) pending.current = pending.current.slice(-KEEP);
      timer.current ??= window.setTimeout(flush, FLUSH_MS);
    },
  });
  useEffect(() => {
    if (state === 'connecting') fresh.current = true;
  }, [state]);
  useEffect(() => {
    fresh.current = true;
    all.current = [];
    pending.current = [];
    setLines([]);
  }, [url]);
  useEffect(() => () => window.clearTimeout(timer.current), []);

  const shown = query ? lines.filter((l) => lineMatches(l, query)) : lines;
  const { ref, onScroll } = useStickToBottom<HTMLPreElement>(shown.at(-1)?.id ?? -1);
  const choices = processChoices(app.name, Object.keys(app.formation), [
    ...app.processes.map((p) => p.name),
    ...seen,
  ]);

  return (
    <section className="g-card section">
      <div className="m-section-head">
        <h2 id="lg-title">Logs</h2>
        <span className="g-hint">
          {state === 'open'
            ? paused
              ? 'Paused'
              : 'Live'
            : state === 'connecting'
              ? 'Connecting…'
              : 'Disconnected'}
        </span>
      </div>
      <form className="row m-log-tools" onSubmit={(e) => e.preventDefault()} role="search">
        <Field label="Search logs">
          {(id) => (
            <input
              id={id}
              type="search"
              className="g-input"
              value={query}
              onChange={(e) => setQuery(e.target.value)}
              autoComplete="off"
              spellCheck={false}
            />
          )}
        </Field>
        <Field label="Process">
          {(id) => (
            <select id={id} className="g-select" value={process} onChange={(e) => setProcess(e.target.value)}>
              <option value="">All</option>
              {choices.map((c) => (
                <option key={c} value={c}>
                  {c}
                </option>
              ))}
            </select>
          )}
        </Field>
        <div className="g-field">
          <Button
            aria-pressed={paused}
            onClick={() => {
              if (paused) setLines(all.current);
              setPaused(!paused);
            }}
          >
            {paused ? 'Resume' : 'Pause'}
          </Button>
        </div>
      </form>
      <pre ref={ref} onScroll={onScroll} className="log m-log m-logs" aria-label="Logs" tabIndex={0}>
        {shown.length === 0 ? (
          <span className="m-dim">
            {lines.length === 0 ? 'No log lines yet.' : 'No lines match the search.'}
          </span>
        ) : (
          shown.map((l) => (
            <span key={l.id} className={l.process === 'gantry' ? 'm-line m-sys' : 'm-line'}>
              <span className="m-dim">{clock(l.time)}</span>{' '}
              <span className="m-proc">{shortProcess(app.name, l.process)}</span>{' '}
              {highlight(l.text, query).map((p, i) => (p.match ? <mark key={i}>{p.text}</mark> : p.text))}
              {'\n'}
            </span>
          ))
        )}
      </pre>
      <p className="g-hint" role="status">
        {paused ? `Paused: showing ${shown.length} lines; new lines wait until you resume.` : ''}
      </p>
      <p className="g-hint">
        {query
          ? `${shown.length} of ${lines.length} lines match.`
          : `${lines.length} lines (the newest ${KEEP} are kept).`}
      </p>
    </section>
  );
}
