import type { IncomingMessage, ServerResponse } from 'node:http';
import { toPublicKey } from '#shared/wechatpay/v3/sign';
import { billControlRoutes } from './bill-control';
import { BillFaults } from './bill-faults';
import { TradeBills } from './bills';
import { SECAPI_PREFIX, nginxRefusalPage, secapiRefusal } from './client-certificate-gate';
import { systemClock } from './clock';
import { controlRoutes } from './control-api';
import { listenHttpAndHttps } from './dual-protocol-server';
import { isLoopbackHost } from './loopback-host';
import { FaultRegistry } from './faults';
import { sendJsonError, sendText } from './http-io';
import { NotificationScheduler } from './notification-scheduler';
import type { NotificationFormats, RefundNotificationFormats } from './notification-scheduler';
import { resolveOptions } from './options';
import type { ResolvedOptions, SimulatorOptions } from './options';
import { pageRoutes } from './pages/page-routes';
import { Payer } from './payer';
import { Refunds } from './refunds';
import { ReplyHolds } from './reply-hold';
import { createRouter } from './router';
import type { Route } from './router';
import { StateStore } from './state-store';
import { TimeRules } from './time-rules';
import { loadTlsIdentity } from './tls-identity';
import { code2SessionRoutes } from './miniprogram/code2session';
import { miniProgramControlRoutes } from './miniprogram/control';
import { MiniProgramLogins } from './miniprogram/logins';
import { generateAppSecret } from './sandbox-appsecret';
import { Trades } from './trades';
import { v2Routes } from './v2/endpoint';
import { v2NotificationFormat } from './v2/notification';
import { v2RefundNotificationFormat } from './v2/refund-notification';
import { BillDownloadTokens } from './v3/bill-download-tokens';
import type { V3Merchant } from './v3/context';
import { v3Routes } from './v3/endpoint';
import { v3NotificationFormat } from './v3/notification';
import { v3RefundNotificationFormat } from './v3/refund-notification';
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

/**
 * The simulator's TLS trust, for the merchant's side: trust `caCertPem` (WECHATPAY_TRUSTED_CA, or
 * NODE_EXTRA_CA_CERTS) and present the client certificate on /secapi/ paths (WECHATPAY_API_CLIENT_CERT
 * and WECHATPAY_API_CLIENT_KEY). The client key is the merchant's, shared because both sides are here.
 */
export interface SimulatorTls {
  caCertPem: string;
  /** The merchant's API client certificate: issued by the CA, CN = mchid. */
  clientCertPem: string;
  clientKeyPem: string;
}

export interface RunningSimulator {
  /** Base URL, e.g. http://127.0.0.1:3100 (no trailing slash). */
  url: string;
  /** The same port over HTTPS, e.g. https://127.0.0.1:3100: needed for /secapi/ paths. */
  httpsUrl: string;
  tls: SimulatorTls;
  apiVersion: 'v2' | 'v3';
  /** v3 mode only: the platform's public identity. */
  platform?: SimulatorPlatform;
  /**
   * The mini program's AppSecret that GET /sns/jscode2session accepts: the one given, or one generated
   * for this simulator (in memory, never written to a file). The merchant side's WECHAT_APPSECRET.
   */
  miniProgramAppSecret: string;
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
  const refundFormats: RefundNotificationFormats = { v2: v2RefundNotificationFormat(config.merchant) };
  if (v3 !== undefined) {
    const v3Format = { apiV3Key: v3.merchant.apiV3Key, signer: signerOf(v3.platform, v3.signWith), clock };
    formats.v3 = v3NotificationFormat(v3Format);
    refundFormats.v3 = v3RefundNotificationFormat(v3Format);
  }
  const scheduler = new NotificationScheduler({
    store,
    clock,
    rules,
    faults,
    formats,
    refundFormats,
    replyTimeoutMs: config.notifyReplyTimeoutMs,
    log,
  });
  const payer = new Payer(trades, scheduler, store, clock);
  const refunds = new Refunds({ store, rules, clock, scheduler, defaultNotifyUrl: config.refundNotifyUrl, log });
  const platform = v3 === undefined ? undefined : publicSide(v3.platform, v3.signWith);
  const tls = loadTlsIdentity({ mchid: config.merchant.mchid, dataDir: config.dataDir, given: config.tls });

  const billFaults = new BillFaults();
  const bills = new TradeBills(store, billFaults);
  const billTokens = new BillDownloadTokens(clock);
  const shared = {
    trades,
    refunds,
    clock,
    faults,
    store,
    holds,
    apiHoldMs: config.apiTimeoutHoldMs,
    bills,
    billTokens,
  };
  const protocolRoutes: Route[] = [...v2Routes({ merchant: config.merchant, ...shared })];
  if (v3 !== undefined) protocolRoutes.push(...v3Routes({ ...v3, ...shared }));
  // WeChat's login API (api.weixin.qq.com) shares the port with WeChat Pay's: one address serves both locally.
  // Generated per simulator and kept in memory only: the AppSecret shared through a file is DATA_DIR's
  // (npm start and npm run simulator pass it in), never one under the simulator's own dataDir.
  const miniProgramAppSecret = config.miniProgram.appSecret ?? generateAppSecret();
  const logins = new MiniProgramLogins(rules, clock, config.miniProgram.loginRateLimitPerMinute);
  const now = () => clock.now();
  protocolRoutes.push(
    ...code2SessionRoutes({
      appid: config.merchant.appid,
      appSecret: miniProgramAppSecret,
      logins,
      faults,
      holds,
      apiHoldMs: config.apiTimeoutHoldMs,
      now,
    }),
  );
  const route = createRouter([
    ...protocolRoutes,
    ...controlRoutes({ store, payer, refunds, faults, platform }),
    ...pageRoutes({ store }),
    ...billControlRoutes({
      bills,
      faults: billFaults,
      trades,
      store,
      clock,
      merchant: config.merchant,
      protocol: v3 === undefined ? { version: 'v2', signType: 'MD5' } : { version: 'v3' },
    }),
    ...miniProgramControlRoutes({ appid: config.merchant.appid, logins, now }),
  ]);
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const path = requestPath(req.url);
    if (path === undefined) {
      // Thrown here, outside any promise, it would be an uncaught exception: one request would stop the simulator.
      req.resume();
      sendJsonError(res, 400, 'BAD_REQUEST', 'the request target is not a URL path');
      return;
    }
    if (!isLoopbackHost(req.headers.host, req.socket.localPort ?? 0)) {
      // A DNS-rebinding page reaches 127.0.0.1 under its own name: it could read the pages and drive
      // the control API. Only the loopback names with this port are served, as the local gateway does.
      req.resume();
      res.setHeader('connection', 'close');
      sendJsonError(res, 421, 'MISDIRECTED_REQUEST', 'use 127.0.0.1 or localhost with this port');
      return;
    }
    // WeChat's nginx checks the client certificate before the API sees anything of the request.
    const refusal = path.startsWith(SECAPI_PREFIX) ? secapiRefusal(req, config.merchant.mchid) : undefined;
    if (refusal !== undefined) {
      req.resume();
      sendText(res, 400, nginxRefusalPage(refusal), 'text/html');
      return;
    }
    route(req, res).catch((err: unknown) => {
      // The path only: a query can hold a secret (GET /sns/jscode2session carries the AppSecret and the code).
      log(`simulator: ${req.method ?? ''} ${path} failed: ${(err as Error).message}`);
      sendJsonError(res, 500, 'INTERNAL', 'the simulator failed to handle this request');
    });
  };

  const server = await listenHttpAndHttps({
    host: config.host,
    port: config.port,
    tls: { certPem: tls.serverCertPem, keyPem: tls.serverKeyPem, caPem: tls.caCertPem },
    handler,
    log,
  });
  const url = `http://${config.host}:${server.port}`;
  const resumed = scheduler.resumeAll();
  if (resumed > 0) log(`simulator: resumed ${resumed} pending notification(s)`);
  const unfinished = refunds.resumeAll();
  if (unfinished > 0) log(`simulator: ${unfinished} refund(s) still processing`);

  let closing: Promise<void> | undefined;
  return {
    url,
    httpsUrl: `https://${config.host}:${server.port}`,
    tls: { caCertPem: tls.caCertPem, clientCertPem: tls.clientCertPem, clientKeyPem: tls.clientKeyPem },
    apiVersion: config.apiVersion,
    ...(platform === undefined ? {} : { platform }),
    miniProgramAppSecret,
    close: () => {
      closing ??= (async () => {
        const stopped = server.close();
        holds.releaseAll();
        refunds.close();
        await scheduler.close();
        await stopped;
      })();
      return closing;
    },
  };
}

/** The path of a request target, or undefined when it does not parse (`//[` for one). */
function requestPath(url: string | undefined): string | undefined {
  try {
    return new URL(url ?? '/', 'http://simulator').pathname;
  } catch {
    return undefined;
  }
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
