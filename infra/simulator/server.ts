import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { systemClock } from './clock';
import { controlRoutes } from './control-api';
import { FaultRegistry } from './faults';
import { sendJsonError } from './http-io';
import { NotificationScheduler } from './notification-scheduler';
import { resolveOptions } from './options';
import type { SimulatorOptions } from './options';
import { Payer } from './payer';
import { ReplyHolds } from './reply-hold';
import { createRouter } from './router';
import { StateStore } from './state-store';
import { TimeRules } from './time-rules';
import { Trades } from './trades';
import { v2Routes } from './v2/endpoint';
import { v2NotificationFormat } from './v2/notification';

export type { SimulatorOptions } from './options';

export interface RunningSimulator {
  /** Base URL, e.g. http://127.0.0.1:3100 (no trailing slash). */
  url: string;
  /** Stops accepting requests, cancels notification retries (kept as due in the state), closes connections. */
  close(): Promise<void>;
}

/**
 * Starts a WeChat Pay (API v2) simulator for one merchant. The pieces a v3 mode would share — state
 * store, trades, payer, faults, time rules, notification scheduler — know nothing of XML or signing;
 * a v3 mode adds its routes and a notification format beside the v2 ones below.
 */
export async function startSimulator(options: SimulatorOptions): Promise<RunningSimulator> {
  const config = resolveOptions(options);
  const log = config.log ?? (() => {});
  const clock = config.clock ?? systemClock;
  const rules = new TimeRules(config.timeScale);
  const store = StateStore.open(config.dataDir);
  const trades = new Trades(store, rules, clock);
  const faults = new FaultRegistry();
  const holds = new ReplyHolds(clock);
  const scheduler = new NotificationScheduler({
    store,
    clock,
    rules,
    faults,
    formats: { v2: v2NotificationFormat(config.merchant) },
    replyTimeoutMs: config.notifyReplyTimeoutMs,
    log,
  });
  const payer = new Payer(trades, scheduler, store, clock);

  const route = createRouter([
    ...v2Routes({ merchant: config.merchant, trades, clock, faults, store, holds, apiHoldMs: config.apiTimeoutHoldMs }),
    ...controlRoutes({ store, payer, faults }),
  ]);
  const server = createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      log(`simulator: ${req.method ?? ''} ${req.url ?? ''} failed: ${(err as Error).message}`);
      sendJsonError(res, 500, 'INTERNAL', 'the simulator failed to handle this request');
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.host}:${port}`;
  const resumed = scheduler.resumeAll();
  if (resumed > 0) log(`simulator: resumed ${resumed} pending notification(s)`);

  let closing: Promise<void> | undefined;
  return {
    url,
    close: () => {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        holds.releaseAll();
        await scheduler.close();
        server.closeAllConnections();
        await stopped;
      })();
      return closing;
    },
  };
}
