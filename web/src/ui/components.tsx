/** The building blocks every page uses: one look, labelled and keyboard-friendly. */
import { useId, useState, type ButtonHTMLAttributes, type ReactNode } from 'react';
import { Link } from '../router.js';

export function Button(
  props: ButtonHTMLAttributes<HTMLButtonElement> & { kind?: 'primary' | 'danger' | 'plain'; busy?: boolean },
) {
  const { kind = 'plain', busy, className, disabled, children, ...rest } = props;
  return (
    <button
      type="button"
      {...rest}
      className={`g-button ${kind === 'plain' ? '' : kind} ${className ?? ''}`.trim()}
      disabled={disabled || busy}
      aria-busy={busy || undefined}
    >
      {busy && <span className="spinner" aria-hidden="true" />}
      {children}
    </button>
  );
}

export function Alert({ kind = 'error', children }: { kind?: 'error' | 'ok' | 'info'; children: ReactNode }) {
  if (children === undefined || children === null || children === '') return null;
  return (
    <div className={`g-alert ${kind === 'error' ? '' : kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {children}
    </div>
  );
}

export function Spinner({ label = 'Loading…' }: { label?: string }) {
  return (
    <p className="loading" role="status">
      <span className="spinner" aria-hidden="true" /> {label}
    </p>
  );
}

/** Loading, error or the content of a resource. */
export function Loaded<T>({
  resource,
  children,
  label,
}: {
  resource: { data: T | undefined; error: Error | undefined };
  children: (data: T) => ReactNode;
  label?: string;
}) {
  if (resource.data !== undefined) return <>{children(resource.data)}</>;
  if (resource.error) return <Alert>{resource.error.message}</Alert>;
  return <Spinner label={label} />;
}

const STATUS_KIND: Record<string, string> = {
  running: 'ok',
  succeeded: 'ok',
  awake: 'ok',
  ok: 'ok',
  sleeping: '',
  asleep: '',
  deploying: 'warn',
  starting: 'warn',
  waking: 'warn',
  new: '',
  stopped: '',
  unknown: '',
  crashed: 'danger',
  failed: 'danger',
  error: 'danger',
};

export function StatusBadge({ status }: { status: string }) {
  return <span className={`g-badge ${STATUS_KIND[status] ?? ''}`}>{status}</span>;
}

export function PageHeader({
  title,
  sub,
  actions,
}: {
  title: ReactNode;
  sub?: ReactNode;
  actions?: ReactNode;
}) {
  return (
    <div className="page-header">
      <div>
        <h1>{title}</h1>
        {sub && <p className="g-hint">{sub}</p>}
      </div>
      {actions && <div className="actions">{actions}</div>}
    </div>
  );
}

export interface Tab {
  href: string;
  label: string;
}

/** Navigation between a page's sections (links, so each has its own URL). */
export function Tabs({ tabs, current, label }: { tabs: Tab[]; current: string; label: string }) {
  return (
    <nav className="tabs" aria-label={label}>
      {tabs.map((t) => (
        <Link key={t.href} href={t.href} aria-current={t.href === current ? 'page' : undefined}>
          {t.label}
        </Link>
      ))}
    </nav>
  );
}

/** A label bound to its control: `children` gets the id to put on the input. */
export function Field({
  label,
  hint,
  children,
}: {
  label: string;
  hint?: ReactNode;
  children: (id: string, describedBy: string | undefined) => ReactNode;
}) {
  const id = useId();
  const hintId = hint ? `${id}-hint` : undefined;
  return (
    <div className="g-field">
      <label className="g-label" htmlFor={id}>
        {label}
      </label>
      {children(id, hintId)}
      {hint && (
        <div className="g-hint" id={hintId}>
          {hint}
        </div>
      )}
    </div>
  );
}

/** Text to copy (commands, URLs) with a copy button. */
export function CopyBlock({ text, label }: { text: string; label: string }) {
  const [copied, setCopied] = useState(false);
  const copy = (): void => {
    void navigator.clipboard?.writeText(text).then(
      () => {
        setCopied(true);
        setTimeout(() => setCopied(false), 1500);
      },
      () => setCopied(false),
    );
  };
  return (
    <div className="copy-block">
      <pre aria-label={label} tabIndex={0}>
        {text}
      </pre>
      <Button onClick={copy} aria-label={`Copy ${label}`}>
        {copied ? 'Copied' : 'Copy'}
      </Button>
    </div>
  );
}

/** A destructive button that asks once more, inline (no browser dialog). */
export function ConfirmButton({
  children,
  confirm,
  onConfirm,
  busy,
  kind = 'danger',
}: {
  children: ReactNode;
  confirm: string;
  onConfirm: () => void;
  busy?: boolean;
  kind?: 'danger' | 'primary' | 'plain';
}) {
  const [asking, setAsking] = useState(false);
  if (!asking)
    return (
      <Button kind={kind} busy={busy} onClick={() => setAsking(true)}>
        {children}
      </Button>
    );
  return (
    <span className="confirm" role="group" aria-label={confirm}>
      <span>{confirm}</span>
      <Button
        kind={kind}
        autoFocus
        onClick={() => {
          setAsking(false);
          onConfirm();
        }}
      >
        Yes
      </Button>
      <Button onClick={() => setAsking(false)}>Cancel</Button>
    </span>
  );
}

export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty g-card">
      <h2>{title}</h2>
      {children}
    </div>
  );
}
