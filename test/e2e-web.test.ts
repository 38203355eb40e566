/**
 * The web UI end to end, in a real Chromium against one real server (real git
 * pushes, real sandboxed processes, real thumbnails): an admin, a developer
 * (dana) and a viewer (vic) sign in through /login and use the portal, the
 * App Manager and the admin console by their accessible names (ui.md). Every
 * step fails on console errors (CSP violations among them) and failed
 * requests, and leaves a screenshot in test-results/screenshots/.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import type { AppInfo, ReleaseInfo, ScalingInfo } from '../src/api/platform.js';
import type { ProcessStatus } from '../src/runtime/types.js';
import {
  startTestServer,
  fixtureRepo,
  git,
  eventually,
  appLogs,
  ADMIN_PASSWORD,
  type TestServer,
} from './helpers/index.js';
import {
  launchBrowser,
  signIn,
  screenshot,
  assertNoPageProblems,
  unnamedControls,
  markPage,
  hasMark,
  countScriptBytes,
  closePage,
} from './support/browser.js';

const APP = 'orbit';
const PW = 'dana-and-vic-pw-1';
const VALUE = 'bar-7f3a';
/** Apps made in before(): name → [visibility, title, tags]; the viewer vic may open the first three. */
const OTHERS: [string, 'public' | 'authenticated' | 'restricted', string, string[]][] = [
  ['open-data', 'public', 'Open Data', ['finance']],
  ['team-wiki', 'authenticated', 'Team Wiki', ['docs']],
  ['quarterly', 'restricted', 'Quarterly Report', ['finance', 'reports']],
  ['secret-plan', 'restricted', 'Secret Plan', ['finance']],
];
const VIC_SEES = ['Open Data', 'Quarterly Report', 'Team Wiki'];
/** The fixture's page: an orange band (#ff7a00) across the top. */
const ORANGE = [255, 122, 0];

let t: TestServer;
let browser: Browser;
let admin: Page;
let dana: Page;
let vic: Page;

/** A screenshot, after checking the page's controls are named and the browser saw no problem. */
async function snap(page: Page, name: string, allowed: RegExp[] = []): Promise<void> {
  assert.deepEqual(await unnamedControls(page), [], `${name}: form controls without a label or aria-label`);
  assertNoPageProblems(page, `${name} (${page.url()})`, allowed);
  await screenshot(page, name);
}

const go = async (page: Page, path: string): Promise<void> => {
  await page.goto(`${t.url}${path}`);
};

/** The titles of the portal's cards (article aria-labels), sorted. */
const cardTitles = async (page: Page): Promise<string[]> =>
  (
    await page.getByRole('article').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label') ?? ''))
  ).sort();

async function expectCards(page: Page, expected: string[], what: string): Promise<void> {
  let last: string[] = [];
  await eventually(
    async () => {
      last = await cardTitles(page);
      return JSON.stringify(last) === JSON.stringify([...expected].sort());
    },
    8_000,
    what,
  ).catch(() =>
    assert.deepEqual(last, [...expected].sort(), `${what}: the portal's cards (at ${page.url()})`),
  );
}

/** Waits until `label`'s text matches; fails with the text it last had. */
async function waitForText(page: Page, label: string, re: RegExp, ms: number, what: string): Promise<string> {
  let last = '';
  await eventually(
    async () => {
      last = (await page.getByLabel(label, { exact: true }).textContent({ timeout: 1000 })) ?? '';
      return re.test(last);
    },
    ms,
    what,
  ).catch(() => assert.fail(`${what}: <${label}> never matched ${re}; it shows:\n${last.slice(-1500)}`));
  return last;
}

/** Clicks a button, then the inline "Yes" when it asks to confirm. */
async function clickConfirmed(page: Page, name: string): Promise<void> {
  await page.getByRole('button', { name, exact: true }).click();
  const yes = page.getByRole('button', { name: 'Yes', exact: true });
  if (await yes.isVisible({ timeout: 1000 }).catch(() => false)) await yes.click();
}

/** The random id the latest web.N of the fixture printed when it started. */
function instanceOf(logs: string, n: number): string | undefined {
  const re = new RegExp(`${APP}\\.web\\.${n}: instance (\\w+) listening`, 'g');
  return [...logs.matchAll(re)].at(-1)?.[1];
}

/** The app's page as the admin's API token sees it. */
async function appBody(path = ''): Promise<string> {
  const res = await fetch(`${t.url}/apps/${APP}/${path}`, {
    headers: { authorization: `Bearer ${t.token}` },
  });
  return `${res.status} ${await res.text()}`;
}

describe('the web UI in a real browser', { timeout: 300_000 }, () => {
  before(async () => {
    t = await startTestServer({ thumbnails: true });
    await t.api('POST', '/api/users', { username: 'dana', password: PW, role: 'developer' });
    await t.api('POST', '/api/users', { username: 'vic', password: PW, role: 'viewer' });
    for (const [name, visibility, title, tags] of OTHERS) {
      await t.api('POST', '/api/apps', { name });
      if (visibility !== 'restricted')
        await t.api('PUT', `/api/apps/${name}/access/visibility`, { visibility });
      await t.api('PATCH', `/api/apps/${name}`, { title, tags, description: `The ${title} app.` });
    }
    await t.api('POST', '/api/apps/quarterly/access', { principal: 'user:vic' });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await t?.close();
  });

  test('1. the admin signs in through /login and lands on the portal', async () => {
    admin = await signIn(browser, t.url, 'admin', ADMIN_PASSWORD, {
      onLoginPage: async (page) => {
        await page.getByRole('heading', { name: 'Sign in' }).waitFor();
        await snap(page, 'login');
      },
    });
    await admin.getByRole('heading', { level: 1, name: 'Apps' }).waitFor();
    await expectCards(
      admin,
      OTHERS.map((o) => o[2]),
      'the admin sees every app',
    );
    await snap(admin, 'portal');
  });

  test('2. the portal shows exactly the apps a user may open; search and tags narrow it', async () => {
    vic = await signIn(browser, t.url, 'vic', PW);
    await vic.getByRole('heading', { level: 1, name: 'Apps' }).waitFor();
    await expectCards(vic, VIC_SEES, 'vic (viewer) sees the public, authenticated and shared apps only');
    const search = vic.getByRole('searchbox', { name: 'Search apps' });
    await search.fill('wiki');
    await expectCards(vic, ['Team Wiki'], 'searching "wiki"');
    await search.fill('zzz-nothing');
    await vic.getByText('No apps match').waitFor();
    await search.fill('');
    await expectCards(vic, VIC_SEES, 'an empty search');
    const finance = vic.getByRole('button', { name: 'finance', exact: true });
    await finance.click();
    assert.equal(await finance.getAttribute('aria-pressed'), 'true', 'the tag button says it is pressed');
    await expectCards(vic, ['Open Data', 'Quarterly Report'], 'the tag filter "finance"');
    assert.match(vic.url(), /finance/, 'the tag filter is kept in the URL');
    await finance.click();
    await expectCards(vic, VIC_SEES, 'the tag filter off again');
    assertNoPageProblems(vic, 'vic on the portal');
  });

  test('3. a developer creates an app, pushes with git and watches the build live', async () => {
    dana = await signIn(browser, t.url, 'dana', PW, { next: '/manage/new' });
    await dana.getByLabel('App name', { exact: true }).fill(APP);
    const activity = dana.waitForResponse((r) => r.url().endsWith(`/api/apps/${APP}/activity`), {
      timeout: 15_000,
    });
    await dana.getByRole('button', { name: 'Create app' }).click();
    await dana.waitForURL(`${t.url}/manage/${APP}/deploys`);
    const gitHelp = await dana.getByLabel('git commands', { exact: true }).textContent();
    assert.match(gitHelp ?? '', new RegExp(`git remote add gantry ${t.url}/git/${APP}\\.git`));
    assert.match(gitHelp ?? '', /git push gantry main/);
    assert.match(
      (await dana.getByLabel('CLI commands', { exact: true }).textContent()) ?? '',
      /gantry login /,
    );
    await activity;
    await markPage(dana);

    const repo = await fixtureRepo('web-portal');
    const origin = new URL(t.url);
    origin.username = 'dana';
    origin.password = PW;
    origin.pathname = `/git/${APP}.git`;
    const pushing = git(repo, ['push', '--porcelain', origin.toString(), '+HEAD:refs/heads/main']);
    await waitForText(
      dana,
      'Build log',
      /-----> Building/,
      60_000,
      'the live build log once the push started',
    );
    const pushed = await pushing;
    assert.equal(pushed.code, 0, `git push as dana failed:\n${pushed.stderr}`);
    await waitForText(dana, 'Build log', /is live at/, 20_000, 'the end of the build in the live log');
    assert.ok(await hasMark(dana), 'the Deploys tab reloaded the page to show the build; it must stream it');
    await dana.getByText('current', { exact: true }).first().waitFor();
    await snap(dana, 'manager-deploys');
  });

  test('4. the app appears in the portal with its automatic thumbnail', async () => {
    const thumb = await eventually(
      async () => (await t.api<AppInfo>('GET', `/api/apps/${APP}`)).thumbnail ?? undefined,
      60_000,
      `a thumbnail of ${APP} after its deploy (GET /api/apps/${APP} .thumbnail stays null)`,
    );
    const res = await fetch(`${t.url}${thumb.url}`, { headers: { authorization: `Bearer ${t.token}` } });
    const bytes = Buffer.from(await res.arrayBuffer());
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/jpeg');
    assert.ok(bytes.length > 2048, `the thumbnail is only ${bytes.length} bytes`);
    assert.deepEqual([...bytes.subarray(0, 3)], [0xff, 0xd8, 0xff], 'JPEG magic bytes');

    await go(dana, '/');
    const img = dana.getByRole('article', { name: APP }).getByRole('img', { name: `Screenshot of ${APP}` });
    await eventually(
      () => img.evaluate((i: HTMLImageElement) => i.complete && i.naturalWidth > 0),
      15_000,
      'the card image to load',
    );
    // A pixel of the orange band at the top of the fixture's page: the picture is of the app.
    const pixel = await img.evaluate((i: HTMLImageElement) => {
      const c = document.createElement('canvas');
      c.width = i.naturalWidth;
      c.height = i.naturalHeight;
      const ctx = c.getContext('2d')!;
      ctx.drawImage(i, 0, 0);
      return [...ctx.getImageData(20, 20, 1, 1).data].slice(0, 3);
    });
    assert.ok(
      pixel.every((v, k) => Math.abs(v - ORANGE[k]!) < 40),
      `pixel ${pixel} is not the app's orange ${ORANGE}`,
    );
    await snap(dana, 'portal-thumbnail');
  });

  test('5. a config var set in the Config tab is masked, revealed, and served by the app', async () => {
    await go(dana, `/manage/${APP}/config`);
    await dana.getByLabel('Name', { exact: true }).fill('FOO');
    await dana.getByLabel('Value', { exact: true }).fill(VALUE);
    await dana.getByRole('button', { name: 'Set variable' }).click();
    await dana.getByRole('status').filter({ hasText: /Saved/ }).first().waitFor();
    const row = dana.getByRole('row').filter({ hasText: 'FOO' });
    assert.match((await row.textContent()) ?? '', /••••••••/, 'the value is masked');
    assert.doesNotMatch(
      (await row.textContent()) ?? '',
      new RegExp(VALUE),
      'the value is hidden until revealed',
    );
    await snap(dana, 'manager-config');
    const reveal = dana.getByRole('button', { name: 'Reveal FOO' });
    assert.equal(await reveal.getAttribute('aria-pressed'), 'false');
    await reveal.click();
    assert.equal(await reveal.getAttribute('aria-pressed'), 'true');
    await row.getByText(VALUE).waitFor();
    await eventually(
      async () => (await appBody()).includes(`FOO=${VALUE}`),
      30_000,
      `the app to serve FOO=${VALUE}`,
    );
    assertNoPageProblems(dana, 'config tab');
  });

  test('6. scaling web to 2 in the Processes tab runs two web processes', async () => {
    await go(dana, `/manage/${APP}/processes`);
    await dana.getByLabel('web processes', { exact: true }).fill('2');
    await dana.getByRole('button', { name: 'Scale web' }).click();
    const webs = await eventually(
      async () => {
        const { processes } = await t.api<{ processes: ProcessStatus[] }>('GET', `/api/apps/${APP}/ps`);
        const running = processes.filter((p) => p.type === 'web' && p.state === 'running');
        return running.length === 2 && running;
      },
      30_000,
      'two running web processes (GET /ps)',
    );
    for (const p of webs) {
      await dana.getByText(`web.${p.index}`).first().waitFor({ timeout: 20_000 });
    }
    await snap(dana, 'manager-processes');
  });

  test('7. rolling back from the Deploys tab serves the old release again', async () => {
    await go(dana, `/manage/${APP}/deploys`);
    await clickConfirmed(dana, 'Roll back to v1');
    await eventually(
      async () => (await appBody()).includes('FOO=none'),
      30_000,
      'the app to serve v1 again (FOO=none)',
    );
    const { releases } = await t.api<{ releases: ReleaseInfo[] }>('GET', `/api/apps/${APP}/releases`);
    const current = releases.find((r) => r.current);
    assert.match(current?.description ?? '', /Rollback to v1/i);
    await dana
      .getByRole('listitem')
      .filter({ hasText: `v${current!.version}` })
      .filter({ hasText: 'current' })
      .first()
      .waitFor();
    assertNoPageProblems(dana, 'rollback');
  });

  test('8. restricting the app and adding or removing a viewer changes what vic sees', async () => {
    await go(dana, `/manage/${APP}/access`);
    const visibility = dana.getByLabel('Visibility', { exact: true });
    const save = dana.getByRole('button', { name: 'Save visibility' });
    await visibility.selectOption('authenticated');
    await save.click();
    await eventually(
      async () =>
        (await t.api<{ visibility: string }>('GET', `/api/apps/${APP}/access`)).visibility ===
        'authenticated',
      5_000,
      'GET /access to say authenticated after "Save visibility"',
    );
    await vic.reload();
    await expectCards(vic, [...VIC_SEES, APP], 'vic once the app is open to every signed-in user');
    await visibility.selectOption('restricted');
    await save.click();
    await eventually(
      async () =>
        (await t.api<{ visibility: string }>('GET', `/api/apps/${APP}/access`)).visibility === 'restricted',
      5_000,
      'GET /access to say restricted after "Save visibility"',
    );
    await vic.reload();
    await expectCards(vic, VIC_SEES, 'vic once the app is restricted');
    await dana.getByLabel('Viewer (user:NAME or group:NAME)', { exact: true }).fill('user:vic');
    await dana.getByRole('button', { name: 'Add viewer' }).click();
    await dana.getByRole('button', { name: 'Remove user:vic' }).waitFor();
    await vic.reload();
    await expectCards(vic, [...VIC_SEES, APP], 'vic after dana shared the app with him');
    await snap(dana, 'manager-access');

    await clickConfirmed(dana, 'Remove user:vic');
    await dana.getByRole('button', { name: 'Remove user:vic' }).waitFor({ state: 'detached' });
    await vic.reload();
    await expectCards(vic, VIC_SEES, 'vic after dana removed him');
    const denied = await vic.goto(`${t.url}/apps/${APP}/`);
    assert.ok([403, 404].includes(denied?.status() ?? 0), `vic opening the app: ${denied?.status()}`);
    assertNoPageProblems(vic, 'vic refused', [/status of 40[34]/]);
    await go(vic, '/');
  });

  test('9. logs, metrics and events are live; settings show in the portal card', async () => {
    await go(dana, `/manage/${APP}/logs`);
    await markPage(dana);
    const probe = `probe-${Date.now()}`;
    assert.match(await appBody(`?${probe}`), /^200/);
    await waitForText(dana, 'Logs', new RegExp(probe), 15_000, 'a request to the app in the live log');
    assert.ok(await hasMark(dana), 'the Logs tab reloaded the page; it must stream');
    const logs = await appLogs(t, APP);
    // Each web process logs its own random instance id: filtering by process keeps only its lines.
    const [one, two] = [1, 2].map((i) => instanceOf(logs, i));
    assert.ok(
      one && two,
      `no "instance ID listening" lines of web.1 and web.2 in the app's logs:\n${logs.slice(-2000)}`,
    );
    await waitForText(dana, 'Logs', new RegExp(two), 10_000, `web.2's lines (instance ${two}) under "All"`);
    const select = dana.getByLabel('Process', { exact: true });
    const options = await select.locator('option').allTextContents();
    const web1 = options.find((o) => /(^|\.)web\.1$/.test(o.trim()));
    assert.ok(web1, `the Process filter offers web.1; it has ${JSON.stringify(options)}`);
    await select.selectOption({ label: web1 });
    await eventually(
      async () => {
        const text = (await dana.getByLabel('Logs', { exact: true }).textContent()) ?? '';
        return text.includes(one) && !text.includes(two);
      },
      10_000,
      `only web.1's lines (instance ${one}, not web.2's ${two}) with the filter web.1`,
    );
    // Searching narrows the shown lines to those containing the words.
    await dana.getByRole('searchbox', { name: 'Search logs' }).fill(`instance ${one}`);
    await eventually(
      async () => {
        const lines = ((await dana.getByLabel('Logs', { exact: true }).textContent()) ?? '').split('\n');
        const shown = lines.filter((l) => l.trim());
        return shown.length > 0 && shown.every((l) => l.includes(`instance ${one}`));
      },
      5_000,
      `"Search logs" to show only lines with "instance ${one}"`,
    );
    await snap(dana, 'manager-logs');

    await go(dana, `/manage/${APP}/metrics`);
    const captions = ['Requests/s', 'Latency (p50, p95)', 'Errors', 'CPU', 'Memory', 'Replicas'];
    for (const c of captions) {
      const chart = dana.getByRole('figure', { name: c }).getByRole('img');
      assert.ok(
        ((await chart.getAttribute('aria-label')) ?? '').length > 0,
        `the "${c}" chart has an aria-label`,
      );
    }
    assert.equal(await dana.getByRole('figure').count(), 6, 'six charts');
    await dana.getByRole('button', { name: 'Last day' }).click();
    assert.equal(await dana.getByRole('button', { name: 'Last day' }).getAttribute('aria-pressed'), 'true');
    await snap(dana, 'manager-metrics');

    await go(dana, `/manage/${APP}/events`);
    await eventually(
      async () => (await dana.getByRole('row').count()) >= 3,
      10_000,
      'event rows in the Events tab',
    );
    assertNoPageProblems(dana, 'events tab');

    await go(dana, `/manage/${APP}/settings`);
    await dana.getByLabel('Title', { exact: true }).fill('Orbit Tracker');
    await dana.getByLabel('Description', { exact: true }).fill('Where the satellites are tonight.');
    await dana.getByLabel('Tags', { exact: true }).fill('space, Demo');
    await dana.getByRole('button', { name: 'Save details' }).click();
    await dana.getByRole('heading', { level: 1, name: 'Orbit Tracker' }).waitFor();
    await dana.getByRole('img', { name: 'Current thumbnail' }).waitFor();
    await snap(dana, 'manager-settings');
    await go(dana, '/');
    const card = dana.getByRole('article', { name: 'Orbit Tracker' });
    await card.getByText('Where the satellites are tonight.').waitFor();
    await card.getByText('space', { exact: true }).waitFor();
    await card.getByText('demo', { exact: true }).waitFor();
    assertNoPageProblems(dana, 'portal after settings');
  });

  test('10. the admin console renders every tab; a viewer is told it is for admins', async () => {
    await go(admin, '/admin');
    await admin.getByRole('heading', { level: 1, name: 'Admin' }).waitFor();
    const tabs = admin.getByRole('navigation', { name: 'Admin sections' });
    for (const total of ['Apps', 'Running', 'Sleeping', 'Processes', 'CPU', 'Memory']) {
      await admin.getByRole('main').getByText(total, { exact: true }).first().waitFor();
    }
    assert.ok(
      await admin.getByRole('main').locator(`a[href="/manage/${APP}"]`).count(),
      `the busiest apps link to /manage/${APP}`,
    );
    await snap(admin, 'admin-resources');
    await tabs.getByRole('link', { name: 'Users' }).click();
    await admin.getByLabel('Role of vic', { exact: true }).waitFor();
    await snap(admin, 'admin-users');
    await tabs.getByRole('link', { name: 'Groups' }).click();
    await admin.getByLabel('Group name', { exact: true }).waitFor();
    assertNoPageProblems(admin, 'admin groups');
    for (const name of ['Tokens', 'Sign-in']) {
      await tabs.getByRole('link', { name }).click();
      await admin.waitForLoadState('load');
      assert.equal(await admin.getByRole('alert').count(), 0, `the ${name} tab shows an error`);
      assertNoPageProblems(admin, `admin ${name}`);
    }
    await tabs.getByRole('link', { name: 'Audit log' }).click();
    await admin.getByRole('cell', { name: 'app.scale' }).first().waitFor();
    await snap(admin, 'admin-audit');

    await go(vic, '/admin');
    await vic.getByText('Admins only').waitFor();
    assertNoPageProblems(vic, 'vic on /admin', [/status of 403/]);
  });

  test('11. budget, phone layout, keyboard, and the server pages', async () => {
    let bytes: ReturnType<typeof countScriptBytes> | undefined;
    const fresh = await signIn(browser, t.url, 'admin', ADMIN_PASSWORD, {
      setup: (page) => {
        bytes = countScriptBytes(page);
      },
    });
    await fresh.getByRole('article').first().waitFor();
    await fresh.waitForLoadState('networkidle');
    const js = await bytes!();
    assert.ok(
      js.total > 0 && js.total < 200 * 1024,
      `portal first-load JS: ${js.total} bytes\n${js.files.join('\n')}`,
    );
    await closePage(fresh);

    const phone = await signIn(browser, t.url, 'admin', ADMIN_PASSWORD, {
      context: { viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true },
    });
    await phone.getByRole('article').first().waitFor();
    const overflow = await phone.evaluate(() => [document.scrollingElement!.scrollWidth, window.innerWidth]);
    assert.ok(
      overflow[0]! <= overflow[1]!,
      `the portal scrolls sideways at 375 px: ${overflow[0]} > ${overflow[1]}`,
    );
    await snap(phone, 'portal-phone');
    await closePage(phone);

    await go(admin, '/');
    await admin.getByRole('article').first().waitFor();
    const search = admin.getByRole('searchbox', { name: 'Search apps' });
    const firstLink = admin.getByRole('article').first().getByRole('link').first();
    const seen: string[] = [];
    let reachedSearch = false;
    for (let i = 0; i < 40; i++) {
      await admin.keyboard.press('Tab');
      seen.push(await admin.evaluate(() => document.activeElement?.outerHTML.slice(0, 80) ?? ''));
      if (await search.evaluate((el) => el === document.activeElement)) reachedSearch = true;
      if (reachedSearch && (await firstLink.evaluate((el) => el === document.activeElement))) break;
      assert.ok(
        i < 39,
        `Tab never reached ${reachedSearch ? 'the first app link' : 'the search box'}:\n${seen.join('\n')}`,
      );
    }

    const missing = await admin.goto(`${t.url}/apps/nope/`);
    assert.equal(missing?.status(), 404);
    await admin.getByRole('heading', { name: 'App not found' }).waitFor();
    await snap(admin, 'app-not-found', [/status of 404/]);

    const broken = await admin.goto(`${t.url}/apps/${APP}/broken`);
    assert.equal(broken?.status(), 502, 'a malformed answer from the app gives the 502 page');
    await snap(admin, 'error-502', [/status of 502/]);

    await t.api('PATCH', `/api/apps/${APP}/scaling`, { min: 0, idleTimeoutMs: 60_000 });
    await t.api('POST', `/api/apps/${APP}/sleep`);
    await eventually(
      async () => (await t.api<ScalingInfo>('GET', `/api/apps/${APP}/scaling`)).state === 'asleep',
      15_000,
      'the app to be asleep after POST /sleep',
    );
    // Hold the page's wait-for-ready fetch until the Starting page is on film.
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    await admin.route(
      (u) => u.pathname.startsWith(`/apps/${APP}/`),
      async (route) => {
        if (route.request().headers()['x-gantry-wait']) await held;
        await route.continue();
      },
    );
    const starting = await admin.goto(`${t.url}/apps/${APP}/`);
    assert.equal(starting?.status(), 503);
    await admin.getByRole('heading', { name: `Starting ${APP}…` }).waitFor();
    await snap(admin, 'starting', [/status of 503/]);
    release();
    await admin.getByRole('heading', { name: 'Orbit fixture' }).waitFor({ timeout: 30_000 });
    await admin.unrouteAll();
    assertNoPageProblems(admin, 'the app after waking');
  });
});
