import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  appTitle,
  countText,
  filterApps,
  filterHref,
  isFiltered,
  matchesApp,
  NO_FILTER,
  parseFilter,
  tagsOf,
  toggleTag,
  type PortalApp,
} from './filter.js';
import { hueOf, initials } from './placeholder.js';

function app(name: string, over: Partial<PortalApp> = {}): PortalApp {
  return { name, title: null, description: '', tags: [], owner: 'alice', status: 'running', ...over };
}

const apps: PortalApp[] = [
  app('zeta', { title: 'Zeta board', status: 'crashed', tags: ['ops'] }),
  app('draft', { status: 'new' }),
  app('sales', {
    title: 'Sales Forecast',
    description: 'Quarterly revenue model',
    tags: ['sales', 'finance'],
  }),
  app('beta', { status: 'sleeping', owner: 'bob', tags: ['finance'] }),
  app('alpha', { status: 'deploying', tags: ['ops', 'finance'] }),
  app('app10', { title: 'Report 10' }),
  app('app9', { title: 'report 9' }),
];

const names = (list: PortalApp[]): string[] => list.map((a) => a.name);

describe('filterApps order', () => {
  test('running and sleeping first by title, then the rest, never deployed last', () => {
    assert.deepEqual(names(filterApps(apps, NO_FILTER)), [
      'beta',
      'app9',
      'app10',
      'sales',
      'alpha',
      'zeta',
      'draft',
    ]);
  });

  test('leaves the input untouched', () => {
    const copy = [...apps];
    filterApps(apps, NO_FILTER);
    assert.deepEqual(apps, copy);
  });
});

describe('search', () => {
  const q = (text: string): string[] => names(filterApps(apps, { q: text, tags: [] }));

  test('matches title, name, description, owner and tags, ignoring case', () => {
    assert.deepEqual(q('FORECAST'), ['sales']);
    assert.deepEqual(q('draft'), ['draft']);
    assert.deepEqual(q('revenue'), ['sales']);
    assert.deepEqual(q('BOB'), ['beta']);
    assert.deepEqual(q('ops'), ['alpha', 'zeta']);
  });

  test('every word must match somewhere', () => {
    assert.deepEqual(q('  finance   bob '), ['beta']);
    assert.deepEqual(q('finance nobody'), []);
  });

  test('an empty or blank search shows everything', () => {
    assert.equal(q('   ').length, apps.length);
  });

  test('an app without owner or title still matches on its name', () => {
    assert.equal(matchesApp(app('lonely', { owner: null }), { q: 'lone', tags: [] }), true);
    assert.equal(matchesApp(app('lonely', { owner: null }), { q: 'null', tags: [] }), false);
  });
});

describe('tag filters', () => {
  test('several tags: the app must carry all of them', () => {
    assert.deepEqual(names(filterApps(apps, { q: '', tags: ['finance'] })), ['beta', 'sales', 'alpha']);
    assert.deepEqual(names(filterApps(apps, { q: '', tags: ['finance', 'ops'] })), ['alpha']);
    assert.deepEqual(names(filterApps(apps, { q: 'sales', tags: ['ops'] })), []);
  });

  test('toggleTag adds and removes', () => {
    const one = toggleTag(NO_FILTER, 'ops');
    assert.deepEqual(one.tags, ['ops']);
    assert.deepEqual(toggleTag(toggleTag(one, 'sales'), 'ops').tags, ['sales']);
    assert.deepEqual(NO_FILTER.tags, []);
  });

  test('tagsOf lists every tag once, sorted, keeping selected ones no app has', () => {
    assert.deepEqual(tagsOf(apps), ['finance', 'ops', 'sales']);
    assert.deepEqual(tagsOf(apps, ['gone']), ['finance', 'gone', 'ops', 'sales']);
    assert.deepEqual(tagsOf([]), []);
  });
});

describe('URL', () => {
  test('parses q and repeated tag parameters', () => {
    const f = parseFilter(new URLSearchParams('q=Sales+x&tag=Ops&tag=finance&tag=ops&tag='));
    assert.deepEqual(f, { q: 'Sales x', tags: ['ops', 'finance'] });
    assert.deepEqual(parseFilter(new URLSearchParams('')), NO_FILTER);
  });

  test('round-trips through filterHref', () => {
    const f = { q: 'a b&c', tags: ['x', 'y'] };
    assert.equal(filterHref(f), '/?q=a+b%26c&tag=x&tag=y');
    assert.deepEqual(parseFilter(new URL(filterHref(f), 'http://h').searchParams), f);
    assert.equal(filterHref(NO_FILTER), '/');
    assert.equal(filterHref({ q: '  ', tags: [] }), '/');
  });

  test('isFiltered', () => {
    assert.equal(isFiltered(NO_FILTER), false);
    assert.equal(isFiltered({ q: ' ', tags: [] }), false);
    assert.equal(isFiltered({ q: 'x', tags: [] }), true);
    assert.equal(isFiltered({ q: '', tags: ['x'] }), true);
  });
});

describe('text', () => {
  test('appTitle falls back to the name', () => {
    assert.equal(appTitle({ name: 'a', title: null }), 'a');
    assert.equal(appTitle({ name: 'a', title: '  ' }), 'a');
    assert.equal(appTitle({ name: 'a', title: 'Alpha' }), 'Alpha');
  });

  test('countText', () => {
    assert.equal(countText(0), '0 apps');
    assert.equal(countText(1), '1 app');
    assert.equal(countText(4), '4 apps');
  });

  test('placeholder initials and a stable hue per name', () => {
    assert.equal(initials('Sales forecast'), 'SF');
    assert.equal(initials('revenue'), 'R');
    assert.equal(initials('q3-report board'), 'QR');
    assert.equal(initials('élan vital'), 'ÉV');
    assert.equal(initials('--'), '?');
    assert.equal(hueOf('sales'), hueOf('sales'));
    assert.notEqual(hueOf('sales'), hueOf('sales2'));
    for (const n of ['a', 'b', 'sales', 'zeta']) assert.ok(hueOf(n) >= 0 && hueOf(n) < 360);
  });
});
