import { cpus, loadavg } from 'node:os';

import { runApiLatency } from './api-latency';
import { runBillReconcile } from './bill-reconcile';
import { parseBenchArgs, UsageError } from './cli';
import { runColdStart } from './cold-start';
import { runCostPerEvent } from './cost-per-event';
import { runCostPerPayment } from './cost-per-payment';
import { runCostPerRefund } from './cost-per-refund';
import { startLocalServers } from './local-servers';
import { runNotifyThroughput } from './notify-throughput';
import { guardOutput } from './output';
import { renderReport } from './report';
import { runSigning } from './signing';
import { type BenchResults, toJson } from './summary';

/**
 * `npm run bench`: runs the parts asked for and prints a table, or with --json one JSON object.
 * Targets are reported, never enforced: a miss does not change the exit code; a part that breaks does.
 */

const SIZES = {
  full: {
    coldStart: { runs: 25, modes: ['runtime-sdk', 'bundled-sdk'] as const },
    signing: { rounds: 5, roundMs: 150, warmupMs: 100 },
    notify: { orders: 2000, duplicates: 500, concurrency: 32, warmup: 200 },
    cost: { paid: 100, expired: 100, concurrency: 4, expiredConcurrency: 1 },
    latency: { requests: 300, warmup: 10, concurrencies: [1, 8] },
    bill: { lines: 1_000_000 },
    refund: { refunds: 50, concurrency: 1 },
    event: { orders: 50 },
  },
  quick: {
    coldStart: { runs: 20, modes: ['runtime-sdk'] as const },
    signing: { rounds: 3, roundMs: 100, warmupMs: 50 },
    notify: { orders: 500, duplicates: 200, concurrency: 32, warmup: 100 },
    cost: { paid: 20, expired: 20, concurrency: 4, expiredConcurrency: 1 },
    latency: { requests: 100, warmup: 10, concurrencies: [1, 8] },
    bill: { lines: 200_000 },
    refund: { refunds: 10, concurrency: 1 },
    event: { orders: 20 },
  },
};

async function main(): Promise<number> {
  let options;
  try {
    options = parseBenchArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return 2;
  }
  const size = options.quick ? SIZES.quick : SIZES.full;
  const guard = guardOutput({ verbose: options.verbose });
  const started = performance.now();
  const progress = (line: string) =>
    guard.progress(`[${((performance.now() - started) / 1000).toFixed(0).padStart(3)} s] ${line}`);
  const stackLog = (line: string) => {
    if (options.verbose) guard.progress(`    ${line}`);
  };
  const results: BenchResults = {
    coldStart: null,
    notify: null,
    signing: null,
    cost: null,
    latency: null,
    bill: null,
    refund: null,
    event: null,
  };
  const failures: string[] = [];
  const attempt = async (name: string, run: () => Promise<void>) => {
    try {
      await run();
    } catch (error) {
      failures.push(name);
      progress(`${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
  };

  if (options.parts.includes('bundle')) {
    await attempt('part 1 (bundle and cold start)', async () => {
      results.coldStart = await runColdStart({ runs: size.coldStart.runs, modes: [...size.coldStart.modes], progress });
    });
  }
  // In-process CPU work runs before the local servers start, so nothing else competes with it.
  if (options.parts.includes('signing')) {
    await attempt('part 3 (signing and parsing)', async () => {
      results.signing = await runSigning({ ...size.signing, progress });
    });
  }
  if (options.parts.includes('bill')) {
    await attempt('part 6 (bill reconciliation)', async () => {
      results.bill = await runBillReconcile({ ...size.bill, progress });
    });
  }
  if (options.parts.some((p) => ['notify', 'cost', 'latency', 'refund', 'event'].includes(p))) {
    await attempt('local servers', async () => {
      progress('starting DynamoDB Local and fauxqs');
      const servers = await startLocalServers();
      try {
        if (options.parts.includes('notify')) {
          await attempt('part 2 (notify throughput)', async () => {
            results.notify = await runNotifyThroughput(servers, { ...size.notify, progress, log: stackLog });
          });
        }
        if (options.parts.includes('cost')) {
          await attempt('part 4 (cost per payment)', async () => {
            results.cost = await runCostPerPayment(servers, {
              ...size.cost,
              progress,
              log: stackLog,
              loggedBytes: () => guard.capturedBytes(),
            });
          });
        }
        if (options.parts.includes('latency')) {
          await attempt('part 5 (API latency)', async () => {
            results.latency = await runApiLatency(servers, { ...size.latency, progress, log: stackLog });
          });
        }
        if (options.parts.includes('refund')) {
          await attempt('part 7 (cost per refund)', async () => {
            progress(`part 7: ${size.refund.refunds} refunds per scenario (notified, dropped)`);
            results.refund = await runCostPerRefund(
              servers,
              size.refund.refunds,
              (line) => progress(`part 7: ${line}`),
              {
                concurrency: size.refund.concurrency,
                loggedBytes: () => guard.capturedBytes(),
              },
            );
          });
        }
        if (options.parts.includes('event')) {
          await attempt('part 8 (cost per event)', async () => {
            results.event = await runCostPerEvent(servers, size.event.orders, (line) => progress(`part 8: ${line}`));
          });
        }
      } finally {
        await servers.stop();
      }
    });
  }

  const run = {
    quick: options.quick,
    parts: options.parts,
    seconds: (performance.now() - started) / 1000,
    node: process.version,
    cpus: cpus().length,
    loadAverage: loadavg(),
  };
  if (options.json) guard.result(JSON.stringify(toJson(results, run, failures)));
  else guard.result(`${renderReport(results, run)}${failures.length > 0 ? `\nFAILED: ${failures.join('; ')}\n` : ''}`);
  guard.restore();
  return failures.length > 0 ? 1 : 0;
}

main().then(
  // Exit explicitly: a part that failed half-way may have left a timer or socket behind.
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench crashed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
