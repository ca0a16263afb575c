import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { toPublicKey } from '#shared/wechatpay/v3/sign';
import { systemClock } from './clock';
import { controlRoutes } from './control-api';
import { FaultRegistry } from './faults';
import { sendJsonError } from './http-io';
import { NotificationScheduler } from './notification-scheduler';
import type { NotificationFormats } from './notification-scheduler';
import { resolveOptions } from './options';
import type { ResolvedOptions, SimulatorOptions } from './options';
import { Payer } from './payer';
import { ReplyHolds } from './reply-hold';
import { createRouter } from './router';
import type { Route } from './router';
import { StateStore } from './state-store';
import { TimeRules } from './time-rules';
import { Trades } from './trades';
import { v2Routes } from './v2/endpoint';
import { v2NotificationFormat } from './v2/notification';
import type { V3Merchant } from './v3/context';
import { v3Routes } from './v3/endpoint';
import { v3NotificationFormat } from './v3/notification';
import { loadPlatformIdentity, signerOf } from './v3/platform';
import type { PlatformIdentity, SignWith } from './v3/platform';

export type { SimulatorOptions } from './options';
export type { SignWith } from './v3/platform';

/** WeChat Pay's public side in v3 mode: what the merchant's configuration needs to verify the simulator. */
export interface SimulatorPlatform {
  /** The WeChat Pay public key, SPKI PEM: the merchant's WECHATPAY_PUBLIC_KEY. */
  publicKeyPem: string;
  /** `PUB_KEY_ID_…`: the merchant's WECHATPAY_PUBLIC_KEY_ID. */
  publicKeyId: string;
  /** The platform certificate, PEM (also served, encrypted, by GET /v3/certificates). */
  certificatePem: string;
  /** Its serial (40 upper-case hex digits). */
  certificateSerial: string;
  /** Which of the two serials the simulator puts in Wechatpay-Serial. */
  signWith: SignWith;
}

export interface RunningSimulator {
  /** Base URL, e.g. http://127.0.0.1:3100 (no trailing slash). */
  url: string;
  apiVersion: 'v2' | 'v3';
  /** v3 mode only: the platform's public identity. */
  platform?: SimulatorPlatform;
  /** Stops accepting requests, cancels notification retries (kept as due in the state), closes connections. */
  close(): Promise<void>;
}

/**
 * Starts a WeChat Pay simulator for one merchant: API v2 always, API v3 as well with apiVersion
 * 'v3'. The shared pieces — state store, trades, payer, faults, time rules, notification scheduler —
 * know nothing of XML, JSON or signing; each protocol brings its routes and notification format.
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
  const v3 = config.apiVersion === 'v3' ? v3Setup(config) : undefined;
  const formats: NotificationFormats = { v2: v2NotificationFormat(config.merchant) };
  if (v3 !== undefined) {
    formats.v3 = v3NotificationFormat({
      apiV3Key: v3.merchant.apiV3Key,
      signer: signerOf(v3.platform, v3.signWith),
      clock,
    });
  }
  const scheduler = new NotificationScheduler({
    store,
    clock,
    rules,
    faults,
    formats,
    replyTimeoutMs: config.notifyReplyTimeoutMs,
    log,
  });
  const payer = new Payer(trades, scheduler, store, clock);
  const platform = v3 === undefined ? undefined : publicSide(v3.platform, v3.signWith);

  const protocolRoutes: Route[] = [
    ...v2Routes({ merchant: config.merchant, trades, clock, faults, store, holds, apiHoldMs: config.apiTimeoutHoldMs }),
  ];
  if (v3 !== undefined)
    protocolRoutes.push(
      ...v3Routes({ ...v3, trades, clock, faults, store, holds, apiHoldMs: config.apiTimeoutHoldMs }),
    );
  const route = createRouter([...protocolRoutes, ...controlRoutes({ store, payer, faults, platform })]);
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
    apiVersion: config.apiVersion,
    ...(platform === undefined ? {} : { platform }),
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

interface V3Setup {
  merchant: V3Merchant;
  platform: PlatformIdentity;
  signWith: SignWith;
}

/** The v3 merchant keys (checked present by the options) and WeChat's platform identity. */
function v3Setup(config: ResolvedOptions): V3Setup {
  const { appid, mchid, apiV3Key, merchantPublicKey, certSerial } = config.merchant;
  if (apiV3Key === undefined || merchantPublicKey === undefined || certSerial === undefined) {
    throw new Error('v3 merchant keys missing after validation'); // unreachable: resolveOptions requires them
  }
  return {
    merchant: {
      appid,
      mchid,
      apiV3Key,
      publicKey: toPublicKey(merchantPublicKey),
      certSerial: certSerial.toUpperCase(),
    },
    platform: loadPlatformIdentity({
      privateKeyPem: config.platformPrivateKey,
      dataDir: config.dataDir,
      publicKeyId: config.platformPublicKeyId,
    }),
    signWith: config.signWith ?? 'public_key',
  };
}

function publicSide(platform: PlatformIdentity, signWith: SignWith): SimulatorPlatform {
  return {
    publicKeyPem: platform.publicKeyPem,
    publicKeyId: platform.publicKeyId,
    certificatePem: platform.certificatePem,
    certificateSerial: platform.certificateSerial,
    signWith,
  };
}
