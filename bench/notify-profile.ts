import { Session } from 'node:inspector/promises';
import { writeFile } from 'node:fs/promises';

import { runOnLocalServers } from './local-servers';
import { runPool } from './load';
import { inProcessNotifier, startNotifyStack } from './notify-throughput';
import { outTradeNos, paidNotification, pendingOrder, runPrefix } from './seed-orders';
import { SANDBOX_MERCHANT } from '#sandbox/simulator/sandbox-merchant';
import { runIfEntryPoint } from './script-entry';

/**
 * `tsx bench/notify-profile.ts [orders] [profile.cpuprofile]`: the CPU profile of part 2's in-process
 * run (the notify handler as deployed, on DynamoDB Local, concurrency 32), summarised as self time by
 * where the code comes from, and the top functions. The .cpuprofile, when a path is given, opens in
 * Chrome's DevTools. What it answers: which share of a notification's CPU is not the SDK's call.
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
  startTime: number;
  endTime: number;
}

/** Where a function's code comes from, by its script's URL. */
export function moduleGroup(url: string, functionName: string): string {
  if (url === '') {
    if (functionName === '(garbage collector)') return 'GC';
    if (functionName === '(idle)' || functionName === '(program)') return functionName;
    return 'native';
  }
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1];
  if (pkg !== undefined) {
    if (pkg.startsWith('@aws-lambda-powertools/')) return `powertools (${pkg.slice('@aws-lambda-powertools/'.length)})`;
    if (pkg === '@aws-sdk/util-dynamodb' || pkg === '@aws-sdk/lib-dynamodb')
      return 'SDK marshalling (util/lib-dynamodb)';
    if (pkg.startsWith('@aws-sdk/') || pkg.startsWith('@smithy/') || pkg.startsWith('@aws-crypto/'))
      return `SDK (${pkg})`;
    return pkg;
  }
  if (url.startsWith('node:')) return `node (${url.slice('node:'.length).split('/')[0]})`;
  const ours = /\/(shared|sandbox|bench)\/(.+)$/.exec(url);
  if (ours) return `ours (${ours[1]}/${ours[2]})`;
  return url;
}

export function selfTimeBy(profile: Profile, key: (node: ProfileNode) => string): Map<string, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const ms = new Map<string, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i += 1) {
    const node = byId.get(samples[i] as number);
    if (node === undefined) continue;
    const k = key(node);
    ms.set(k, (ms.get(k) ?? 0) + (deltas[i + 1] ?? deltas[i] ?? 0) / 1000);
  }
  return ms;
}

function top(ms: Map<string, number>, count: number, per: number): string[] {
  const total = [...ms.values()].reduce((a, b) => a + b, 0);
  return [...ms.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(
      ([k, v]) =>
        `${((100 * v) / total).toFixed(1).padStart(5)}%  ${(v / per).toFixed(3).padStart(7)} ms/notification  ${k}`,
    );
}

runIfEntryPoint(import.meta.url, () =>
  runOnLocalServers(async (servers, progress) => {
    const orders = Number(process.argv[2] ?? 2000);
    const out = process.argv[3];
    const concurrency = 32;
    const warmup = 300;
    const prefix = runPrefix('BP');
    const { stack, notify } = await startNotifyStack(servers, `bench-profile-${prefix.toLowerCase()}`, () => {});
    try {
      const nos = outTradeNos(prefix, warmup + orders);
      progress(`seeding ${nos.length} PENDING orders`);
      const now = new Date();
      await runPool(nos, concurrency, async (no) => void (await stack.store.create(pendingOrder(no, now))));
      const direct = inProcessNotifier(notify, stack.region, stack.notifyUrl);
      const events = nos.map((no, i) => direct.eventOf(paidNotification(SANDBOX_MERCHANT, no, i)));
      await runPool(events.slice(0, warmup), concurrency, async (e) => void (await direct.send(e)));
      const session = new Session();
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 200 });
      progress(`profiling ${orders} in-process notifications`);
      await session.post('Profiler.start');
      const started = performance.now();
      const cpu = process.cpuUsage();
      let failures = 0;
      await runPool(events.slice(warmup), concurrency, async (e) => {
        const answer = await direct.send(e);
        if (!answer.text.includes('SUCCESS')) failures += 1;
      });
      const used = process.cpuUsage(cpu);
      const seconds = (performance.now() - started) / 1000;
      const { profile } = (await session.post('Profiler.stop')) as { profile: Profile };
      session.disconnect();
      if (out !== undefined) await writeFile(out, JSON.stringify(profile));
      const byGroup = selfTimeBy(profile, (n) => moduleGroup(n.callFrame.url, n.callFrame.functionName));
      const byFunction = selfTimeBy(profile, ({ callFrame: f }) => {
        const where = `${moduleGroup(f.url, f.functionName)}:${f.lineNumber + 1}`;
        return `${f.functionName || '(anonymous)'}  ${where}`;
      });
      return [
        `${orders} notifications in ${seconds.toFixed(2)} s: ${(orders / seconds).toFixed(0)}/s, ` +
          `${((used.user + used.system) / 1000 / orders).toFixed(3)} CPU ms each, ${failures} failed`,
        '',
        'self time by module:',
        ...top(byGroup, 25, orders),
        '',
        'top functions by self time:',
        ...top(byFunction, 40, orders),
      ].join('\n');
    } finally {
      await stack.stop();
    }
  }),
);
