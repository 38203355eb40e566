import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { silentLogger } from '../log/index.js';
import { CgroupManager, cgroupDir, parseMountinfo, parseProcCgroup } from './cgroups.js';
import { readinessDelay, waitListening } from './ports.js';
import { oomMessage, UsageMeter } from './resources.js';

const MB = 1024 * 1024;

void describe('cgroup detection helpers', () => {
  void test('parseMountinfo reads cgroup mounts, escaped paths and super options', () => {
    const text = [
      '32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct',
      '35 31 0:32 /docker/abc /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
      '41 31 0:38 / /mnt/with\\040space rw - cgroup2 cgroup2 rw,nsdelegate',
      'garbage',
    ].join('\n');
    const m = parseMountinfo(text);
    assert.equal(m.length, 3);
    assert.deepEqual(m[0], {
      root: '/',
      mountPoint: '/sys/fs/cgroup/cpu,cpuacct',
      fstype: 'cgroup',
      superOptions: ['rw', 'cpu', 'cpuacct'],
    });
    assert.equal(m[1]!.root, '/docker/abc');
    assert.equal(m[2]!.mountPoint, '/mnt/with space');
    assert.equal(m[2]!.fstype, 'cgroup2');
  });

  void test('parseProcCgroup and cgroupDir map our own cgroup to a directory, inside containers too', () => {
    const own = parseProcCgroup('12:cpu,cpuacct:/a/b\n4:memory:/docker/abc/sub\n1:name=systemd:/\n0::/x\n');
    assert.deepEqual(own[0], { controllers: ['cpu', 'cpuacct'], path: '/a/b' });
    assert.deepEqual(own[3], { controllers: [], path: '/x' });
    const mount = {
      root: '/docker/abc',
      mountPoint: '/sys/fs/cgroup/memory',
      fstype: 'cgroup',
      superOptions: [],
    };
    assert.equal(cgroupDir(mount, '/docker/abc/sub'), '/sys/fs/cgroup/memory/sub');
    assert.equal(cgroupDir(mount, '/elsewhere'), '/sys/fs/cgroup/memory');
    assert.equal(cgroupDir({ ...mount, root: '/' }, '/'), '/sys/fs/cgroup/memory');
  });

  void test('no hierarchy, or a v2 one without controllers: not enforced, and says why', () => {
    const none = CgroupManager.detect({ logger: silentLogger, mountinfo: '', procSelfCgroup: '0::/\n' });
    assert.equal(none.enabled, false);
    assert.equal(none.support.version, null);
    assert.match(none.support.reason ?? '', /no cgroup hierarchy found/);
    assert.equal(none.create({ app: 'a', name: 'web.1', limits: { memoryBytes: MB } }), undefined);
    // This host's hybrid v2 mount carries no memory/cpu/pids (they are on v1).
    if (existsSync('/sys/fs/cgroup/unified/cgroup.controllers')) {
      const bare = CgroupManager.detect({
        logger: silentLogger,
        mountinfo: '41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw',
        procSelfCgroup: '0::/\n',
      });
      assert.equal(bare.enabled, false);
      assert.match(bare.support.reason ?? '', /cgroup v2: .*none of the memory, cpu and pids controllers/);
    }
  });
});

void describe('process cgroups on this host', () => {
  void test('limits are written to the kernel files, and destroy removes the cgroup', async () => {
    const mgr = CgroupManager.detect({ logger: silentLogger });
    assert.ok(mgr.enabled, mgr.support.reason ?? 'cgroups unusable');
    const cg = mgr.create({
      app: 'cgtest',
      name: 'web.1/../../x',
      limits: { memoryBytes: 64 * MB, cpu: 0.2, pids: 12 },
    })!;
    assert.match(cg.name, /^gantry\/cgtest\/web\.1_\.\._\.\._x-[0-9a-f]{8}$/, 'no path climbing');
    assert.deepEqual(cg.limits, { memoryBytes: 64 * MB, cpu: 0.2, pids: 12 });
    const mount = parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8'));
    const own = parseProcCgroup(readFileSync('/proc/self/cgroup', 'utf8'));
    const dirOf = (ctl: string) => {
      const m =
        mgr.support.version === 'v2'
          ? mount.find((x) => x.fstype === 'cgroup2')!
          : mount.find((x) => x.fstype === 'cgroup' && x.superOptions.includes(ctl))!;
      const p = own.find((o) =>
        mgr.support.version === 'v2' ? o.controllers.length === 0 : o.controllers.includes(ctl),
      )!;
      return join(cgroupDir(m, p.path), cg.name);
    };
    const read = (ctl: string, file: string) => readFileSync(join(dirOf(ctl), file), 'utf8').trim();
    if (mgr.support.version === 'v1') {
      assert.equal(read('memory', 'memory.limit_in_bytes'), String(64 * MB));
      if (existsSync(join(dirOf('memory'), 'memory.memsw.limit_in_bytes')))
        assert.equal(
          read('memory', 'memory.memsw.limit_in_bytes'),
          String(64 * MB),
          'no swap beyond the limit',
        );
      assert.equal(read('cpu', 'cpu.cfs_quota_us'), '20000');
      assert.equal(read('cpu', 'cpu.cfs_period_us'), '100000');
    } else {
      assert.equal(read('memory', 'memory.max'), String(64 * MB));
      assert.equal(read('cpu', 'cpu.max'), '20000 100000');
    }
    assert.equal(read('pids', 'pids.max'), '12');
    assert.equal(cg.oomKills(), 0);
    assert.deepEqual(cg.pids(), []);
    await cg.destroy();
    assert.equal(existsSync(dirOf('memory')), false);
    assert.equal(existsSync(dirOf('pids')), false);
  });
});

void describe('resources', () => {
  void test('the OOM sentence users see', () => {
    assert.equal(
      oomMessage('web.1', { memoryBytes: 512 * MB }),
      'out of memory: web.1 exceeded its 512 MB limit',
    );
    assert.equal(
      oomMessage('release', { memoryBytes: 1.5 * 1024 * MB }),
      'out of memory: release exceeded its 1.5 GB limit',
    );
    assert.equal(oomMessage('worker.2', {}), 'out of memory: worker.2 was killed by the kernel');
  });

  void test('UsageMeter: CPU percent over each interval, 100 = one core', () => {
    const m = new UsageMeter(1000);
    assert.deepEqual(m.next({ cpuUsec: 500_000, memoryBytes: 7 }, 2000), {
      cpuPercent: 50,
      memoryBytes: 7,
      at: new Date(2000),
    });
    assert.equal(m.next({ cpuUsec: 2_500_000, memoryBytes: 7 }, 3000).cpuPercent, 200);
    assert.equal(m.next({ cpuUsec: 2_500_000, memoryBytes: 7 }, 3000).cpuPercent, 0, 'no time passed');
  });
});

void describe('waitListening', () => {
  void test('probes fast at first, then backs off', () => {
    assert.ok(readinessDelay(0) <= 5);
    assert.ok(readinessDelay(900) <= 5);
    assert.ok(readinessDelay(60_000) >= 20);
  });

  void test('notices a listener within a few milliseconds', async () => {
    const lags: number[] = [];
    for (let i = 0; i < 7; i++) {
      const srv = createServer((s) => s.destroy());
      // A free port: listen, note it, close, then open it again later.
      await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
      const port = (srv.address() as { port: number }).port;
      await new Promise((r) => srv.close(r));
      let listenedAt = 0;
      const later = setTimeout(
        () => srv.listen(port, '127.0.0.1', () => (listenedAt = Date.now())),
        60 + i * 7,
      );
      const ok = await waitListening({ host: '127.0.0.1', port, timeoutMs: 5000, alive: () => true });
      lags.push(Date.now() - listenedAt);
      clearTimeout(later);
      await new Promise((r) => srv.close(r));
      assert.ok(ok);
    }
    lags.sort((a, b) => a - b);
    // The old 50 ms poll lagged ~25 ms on average.
    assert.ok(lags[3]! <= 12, `median lag ${lags[3]} ms (${lags.join(', ')})`);
  });

  void test('gives up when the process is gone', async () => {
    const t0 = Date.now();
    assert.equal(
      await waitListening({ host: '127.0.0.1', port: 1, timeoutMs: 5000, alive: () => Date.now() - t0 < 50 }),
      false,
    );
    assert.ok(Date.now() - t0 < 1000);
  });
});
