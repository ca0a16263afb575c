import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';

import { SANDBOX_MERCHANT } from '#sandbox/simulator/sandbox-merchant';
import { signWechatpayMessage } from '#shared/wechatpay/v3/testing/wechat-messages';
import { paidNotificationFields, signedV2Notification } from '#test/helpers/wechatpay-v2';
import { classifyDynamoDb, withConsumedCapacity } from './aws-classify';
import { type CountingProxy, startCountingProxy, type Tally } from './counting-proxy';
import { runPool } from './load';
import { type LocalServers, startBenchStack, startLocalServers } from './local-servers';
import { runPrefix } from './seed-orders';

/**
 * What a flood of forged notifications costs in DynamoDB writes: hostile bodies of realistic sizes,
 * posted to the local gateway's /notify/pay (the real notify handler) with a counting proxy in front of
 * DynamoDB Local that asks every data request for its consumed capacity. Nothing here is signed with
 * the merchant's keys, so none of it may move an order; the question is only what it costs to refuse.
 *
 * `npx tsx bench/forged-notifications.ts [requests per kind]` (default 200). The notify handler samples
 * what it records of unverified notifications per minute (FloodSampler), so the writes per request
 * fall as the count grows; a recorded one costs one write unit.
 */

export interface ForgedKind {
  name: string;
  apiVersion: 'v2' | 'v3';
  bodyBytes: number;
  requests: number;
  writes: number;
  writeUnits: number;
  writeUnitsPerRequest: number;
  /** Replies that were not a refusal (anything but v2 FAIL XML or a v3 4xx/5xx). */
  notRefused: number;
}

export interface ForgedResult {
  perKind: ForgedKind[];
  total: { requests: number; writeUnits: number; writeUnitsPerRequest: number };
}

type Forgery = { headers: Record<string, string>; body: string };

/** Just under the 64 KiB the handler accepted before issue 11: the largest body that reached storage. */
const NEAR_64_KIB = 64 * 1024 - 64;

function garbage(bytes: number): string {
  return randomBytes(Math.ceil((bytes * 3) / 4))
    .toString('base64')
    .slice(0, bytes);
}

/** Unclosed, distinct tag names: an XML parser's error names them, and the old reason echoed it. */
function badXml(bytes: number, seed: number): string {
  let xml = '<xml>';
  for (let i = 0; xml.length < bytes - 16; i += 1) xml += `<t${seed}x${i}>`;
  return xml;
}

function v2Paid(no: string, apiKey: string): string {
  return signedV2Notification(
    paidNotificationFields(SANDBOX_MERCHANT, no, {
      total_fee: '100',
      cash_fee: '100',
      transaction_id: `4200000000${String(Date.now()).slice(-10)}00000001`.slice(0, 28),
    }),
    apiKey,
    'MD5',
  );
}

function v3Shaped(no: string, serial: string, key: ReturnType<typeof generateKeyPairSync>['privateKey']): Forgery {
  const body = JSON.stringify({
    id: `EV-${no}`,
    create_time: new Date().toISOString(),
    resource_type: 'encrypt-resource',
    event_type: 'TRANSACTION.SUCCESS',
    summary: '支付成功',
    resource: {
      algorithm: 'AEAD_AES_256_GCM',
      ciphertext: garbage(600),
      nonce: 'abcdefghijkl',
      associated_data: 'transaction',
      original_type: 'transaction',
    },
  });
  return { headers: { ...signWechatpayMessage(body, { privateKey: key, serial }, { now: new Date() }) }, body };
}

/** Write units as DynamoDB bills them: a write whose answer reported none (a refused condition) is one. */
function writeUnits(tally: Tally): { writes: number; units: number } {
  const writes = tally.byKind.write ?? 0;
  return { writes, units: (tally.capacityByKind.write ?? 0) + (writes - (tally.reportedByKind.write ?? 0)) };
}

async function post(url: string, forgery: Forgery): Promise<boolean> {
  const res = await fetch(url, { method: 'POST', headers: forgery.headers, body: forgery.body });
  const text = await res.text();
  return res.status >= 400 || text.includes('FAIL');
}

export async function runForgedNotifications(
  servers: LocalServers,
  options: { requests: number; concurrency: number; progress: (line: string) => void; log: (line: string) => void },
): Promise<ForgedResult> {
  const prefix = runPrefix('BF');
  const proxy: CountingProxy = await startCountingProxy({
    upstream: servers.dynamodbEndpoint,
    classify: (e) => classifyDynamoDb(e.headers['x-amz-target'] as string | undefined, e.responseBody),
    rewriteBody: (headers, body) => withConsumedCapacity(headers['x-amz-target'] as string | undefined, body),
  });
  const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const perKind: ForgedKind[] = [];
  try {
    for (const apiVersion of ['v2', 'v3'] as const) {
      const name = `bench-forged-${apiVersion}-${prefix.toLowerCase()}`;
      const stack = await startBenchStack(servers, name, options.log, {
        dynamodbEndpoint: proxy.url,
        env: apiVersion === 'v3' ? { WECHATPAY_API_VERSION: 'v3', LOG_LEVEL: 'ERROR' } : { LOG_LEVEL: 'ERROR' },
      });
      try {
        const serial = stack.settings.WECHATPAY_PUBLIC_KEY_ID ?? 'PUB_KEY_ID_0000000000000000000000000000000000';
        const v3Headers = (body: string) =>
          signWechatpayMessage(
            body,
            { privateKey: otherKey, serial },
            {
              now: new Date(),
            },
          );
        const kinds: Array<[string, (i: number) => Forgery]> =
          apiVersion === 'v2'
            ? [
                ['64 KiB garbage', () => ({ headers: { 'content-type': 'text/xml' }, body: garbage(NEAR_64_KIB) })],
                [
                  'bad XML, many tags',
                  (i) => ({ headers: { 'content-type': 'text/xml' }, body: badXml(NEAR_64_KIB, i) }),
                ],
                [
                  'well-formed, wrongly signed',
                  (i) => ({ headers: { 'content-type': 'text/xml' }, body: v2Paid(`${prefix}${i}`, 'k'.repeat(32)) }),
                ],
              ]
            : [
                [
                  '64 KiB garbage, signature headers',
                  () => {
                    const body = garbage(NEAR_64_KIB);
                    return { headers: v3Headers(body), body };
                  },
                ],
                ['well-formed, wrongly signed', (i) => v3Shaped(`${prefix}${i}`, serial, otherKey)],
              ];
        for (const [kindName, build] of kinds) {
          const forgeries = Array.from({ length: options.requests }, (_, i) => build(i));
          options.progress(`forged ${apiVersion}: ${options.requests} × ${kindName}`);
          proxy.reset();
          let notRefused = 0;
          await runPool(forgeries, options.concurrency, async (forgery) => {
            if (!(await post(stack.notifyUrl, forgery))) notRefused += 1;
          });
          const { writes, units } = writeUnits(proxy.tally());
          perKind.push({
            name: kindName,
            apiVersion,
            bodyBytes: Math.round(forgeries.reduce((s, f) => s + Buffer.byteLength(f.body), 0) / forgeries.length),
            requests: options.requests,
            writes,
            writeUnits: units,
            writeUnitsPerRequest: units / options.requests,
            notRefused,
          });
        }
      } finally {
        await stack.stop();
      }
    }
  } finally {
    await proxy.close();
  }
  const requests = perKind.reduce((s, k) => s + k.requests, 0);
  const units = perKind.reduce((s, k) => s + k.writeUnits, 0);
  return { perKind, total: { requests, writeUnits: units, writeUnitsPerRequest: units / requests } };
}

export function renderForged(result: ForgedResult): string {
  const lines = [
    'kind                                   api  body B  requests  writes  WCU      WCU/request  not refused',
  ];
  for (const k of result.perKind) {
    lines.push(
      `${k.name.padEnd(38)} ${k.apiVersion}  ${String(k.bodyBytes).padStart(6)}  ${String(k.requests).padStart(8)}  ` +
        `${String(k.writes).padStart(6)}  ${String(k.writeUnits).padStart(7)}  ` +
        `${k.writeUnitsPerRequest.toFixed(3).padStart(11)}  ${k.notRefused}`,
    );
  }
  const t = result.total;
  lines.push(
    `total: ${t.requests} requests, ${t.writeUnits} WCU, ${t.writeUnitsPerRequest.toFixed(3)} WCU per request`,
  );
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  const requests = Number(process.argv[2] ?? '200');
  // The handlers' metric lines (EMF on stdout) would bury the table; the counts here are the proxy's.
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  const servers = await startLocalServers();
  try {
    const result = await runForgedNotifications(servers, {
      requests,
      concurrency: 16,
      progress: (line) => process.stderr.write(`${line}\n`),
      log: () => {},
    });
    process.stdout.write(renderForged(result));
  } finally {
    await servers.stop();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
