/**
 * The real browser for the web UI's end-to-end tests: Debian's Chromium driven
 * by playwright-core, a sign-in through the real /login form, full-page
 * screenshots under test-results/screenshots/, and a watch on every page for
 * what a user would never see but a developer must: console errors (CSP
 * violations among them), uncaught exceptions and failed requests.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core';

export const SCREENSHOT_DIR = fileURLToPath(new URL('../../test-results/screenshots/', import.meta.url));

export const CHROMIUM_PATH = process.env.GANTRY_CHROMIUM || '/usr/bin/chromium';

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      // Containers often have a tiny /dev/shm; Chromium then crashes on big pages.
      '--disable-dev-shm-usage',
    ],
  });
}

/** Something on a page that a developer has to look at. */
export interface PageProblem {
  kind: 'console' | 'pageerror' | 'requestfailed';
  text: string;
  /** The page's URL when it happened. */
  page: string;
}

const problems = new WeakMap<Page, PageProblem[]>();

/**
 * Starts collecting `page`'s problems (newPage does this already). Aborted
 * requests are left out: leaving a page cancels its fetches and event
 * streams, which is not a failure; a refused or blocked request is.
 */
export function watchPage(page: Page): void {
  if (problems.has(page)) return;
  const list: PageProblem[] = [];
  problems.set(page, list);
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const at = msg.location().url;
    list.push({ kind: 'console', text: at ? `${msg.text()} (${at})` : msg.text(), page: page.url() });
  });
  page.on('pageerror', (err) =>
    list.push({ kind: 'pageerror', text: err.stack ?? err.message, page: page.url() }),
  );
  page.on('requestfailed', (req) => {
    const why = req.failure()?.errorText ?? 'failed';
    if (why === 'net::ERR_ABORTED') return;
    list.push({ kind: 'requestfailed', text: `${req.method()} ${req.url()}: ${why}`, page: page.url() });
  });
}

/** The problems collected on `page` since the last check. */
export function problemsOf(page: Page): readonly PageProblem[] {
  return problems.get(page) ?? [];
}

/**
 * Throws, listing them, when `page` had problems other than the `allowed` ones
 * (matched against the text), then forgets them so the next check starts
 * afresh. `where` names the step in the message.
 */
export function assertNoPageProblems(page: Page, where: string, allowed: RegExp[] = []): void {
  const list = problems.get(page);
  if (!list) throw new Error(`${where}: the page is not watched (create it with newPage or call watchPage)`);
  const bad = list.filter((p) => !allowed.some((re) => re.test(p.text)));
  list.length = 0;
  if (bad.length > 0) {
    const lines = bad.map((p) => `  [${p.kind}] ${p.text}\n      on ${p.page}`);
    throw new Error(`${where}: the browser reported ${bad.length} problem(s):\n${lines.join('\n')}`);
  }
}

/** A watched page in a fresh context (its own cookies, nothing cached). */
export async function newPage(browser: Browser, options: BrowserContextOptions = {}): Promise<Page> {
  const context = await browser.newContext({ deviceScaleFactor: 1, ...options });
  // Fail a step in seconds, not after playwright's 30 s: the suite has many.
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  watchPage(page);
  return page;
}

/** Closes the page and its context. */
export async function closePage(page: Page): Promise<void> {
  await page.context().close();
}

export interface SignInOptions {
  /** Where to go after signing in (default `/`). */
  next?: string;
  /** Context options (viewport for phone-sized tests). */
  context?: BrowserContextOptions;
  /** Runs on the new page before anything loads (listen to responses, say). */
  setup?: (page: Page) => void | Promise<void>;
  /** Runs on the sign-in page before the form is filled (to screenshot it). */
  onLoginPage?: (page: Page) => Promise<void>;
}

/**
 * Opens `next` in a fresh context, which sends the browser to the sign-in
 * page; fills "Username" and "Password", presses "Sign in", and returns the
 * page once it is back at `next`. Throws with the page's message when the
 * sign-in is refused.
 */
export async function signIn(
  browser: Browser,
  baseUrl: string,
  username: string,
  password: string,
  opts: SignInOptions = {},
): Promise<Page> {
  const next = opts.next ?? '/';
  const page = await newPage(browser, opts.context);
  await opts.setup?.(page);
  await page.goto(`${baseUrl}${next}`);
  const login = new URL(page.url());
  if (login.pathname !== '/login') {
    throw new Error(
      `opening ${next} without a session should lead to /login, but the browser is at ${page.url()}`,
    );
  }
  await opts.onLoginPage?.(page);
  await page.getByLabel('Username', { exact: true }).fill(username);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await Promise.all([
    page
      .waitForURL((u) => u.pathname !== '/login', { timeout: 10_000 })
      .catch(async () => {
        const alert = await page
          .getByRole('alert')
          .textContent()
          .catch(() => null);
        throw new Error(`signing in as ${username} failed: ${alert ?? `still at ${page.url()}`}`);
      }),
    page.getByRole('button', { name: 'Sign in', exact: true }).click(),
  ]);
  const at = new URL(page.url());
  if (at.pathname + at.search !== next) {
    throw new Error(`after signing in as ${username} the browser is at ${page.url()}, not ${next}`);
  }
  return page;
}

/** Saves a full-page PNG as test-results/screenshots/NAME.png; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true, animations: 'disabled' });
  return path;
}

/**
 * Form controls on the page without an accessible name: no <label>, no
 * aria-label, no aria-labelledby pointing at text. Returned as short
 * descriptions (`input#x type=text name=y`) so a failure says which.
 */
/**
 * In-page script for unnamedControls. A string, not a function: tsx wraps
 * named functions in a `__name()` helper that does not exist in the page.
 */
const UNNAMED_CONTROLS = `(() => {
  const named = (el) => {
    if (el.getAttribute('aria-label')?.trim()) return true;
    const by = el.getAttribute('aria-labelledby');
    if (by && by.split(/\\s+/).some((id) => document.getElementById(id)?.textContent?.trim())) return true;
    return [...(el.labels ?? [])].some((l) => l.textContent?.trim());
  };
  const out = [];
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (el.type === 'hidden' || named(el)) continue;
    const type = el.tagName === 'INPUT' ? ' type=' + el.type : '';
    out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + type + ' name=' + (el.name || '-'));
  }
  return out;
})()`;

/**
 * Form controls on the page without an accessible name: no <label>, no
 * aria-label, no aria-labelledby pointing at text. Returned as short
 * descriptions (`input#x type=text name=y`) so a failure says which.
 */
export async function unnamedControls(page: Page): Promise<string[]> {
  return page.evaluate<string[]>(UNNAMED_CONTROLS);
}

/**
 * Marks the page's current document. A reload or a full navigation loses the
 * mark; the UI's own client-side navigation keeps it (hasMark tells which).
 */
export async function markPage(page: Page): Promise<void> {
  await page.evaluate('window.__gantryE2eMark = true');
}

export async function hasMark(page: Page): Promise<boolean> {
  return (await page.evaluate('window.__gantryE2eMark === true')) === true;
}

/**
 * Sums the encoded (compressed, as sent) body sizes of the scripts `page`
 * downloads from now on; call the result once the page has loaded.
 */
export function countScriptBytes(page: Page): () => Promise<{ total: number; files: string[] }> {
  const sizes: Promise<{ url: string; bytes: number }>[] = [];
  page.on('response', (res) => {
    if (res.request().resourceType() !== 'script') return;
    sizes.push(
      res
        .finished()
        .then(async () => ({ url: res.url(), bytes: (await res.request().sizes()).responseBodySize })),
    );
  });
  return async () => {
    const all = await Promise.all(sizes);
    return {
      total: all.reduce((n, s) => n + s.bytes, 0),
      files: all.map((s) => `${s.url} ${(s.bytes / 1024).toFixed(1)} KB`),
    };
  };
}
