import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SimulatorOptionsError } from '#sandbox/simulator/options';
import { startSimulator } from '#sandbox/simulator/server';
import type { RunningSimulator, SimulatorOptions } from '#sandbox/simulator/server';
import { PLATFORM_KEY_FILE } from '#sandbox/simulator/v3/platform';
import { MERCHANT, debugOrder, newOutTradeNo, pay, waitFor } from './support';
import { APIV3_KEY, V3_MERCHANT, platformKeys, platformOf, startV3Simulator, v3Client, V3Receiver } from './v3-support';

const running: RunningSimulator[] = [];
let dataDir: string;

afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function start(options: Partial<SimulatorOptions> = {}): Promise<RunningSimulator> {
  const sim = await startV3Simulator(options);
  running.push(sim);
  return sim;
}
async function stop(sim: RunningSimulator): Promise<void> {
  running.splice(running.indexOf(sim), 1);
  await sim.close();
}

const v3Merchant = {
  appid: V3_MERCHANT.appid,
  mchid: V3_MERCHANT.mchid,
  apiKey: MERCHANT.apiKey,
  apiV3Key: APIV3_KEY,
  merchantPublicKey: V3_MERCHANT.publicKeyPem,
  certSerial: V3_MERCHANT.serial,
};

async function refusal(options: SimulatorOptions): Promise<SimulatorOptionsError> {
  const error = await startSimulator(options).then(
    async (sim) => {
      await sim.close();
      return undefined;
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SimulatorOptionsError);
  return error as SimulatorOptionsError;
}

describe('v3 options', () => {
  it.each(['apiV3Key', 'merchantPublicKey', 'certSerial'] as const)(
    'apiVersion v3 needs merchant.%s',
    async (field) => {
      const merchant = { ...v3Merchant, [field]: undefined };
      expect((await refusal({ apiVersion: 'v3', merchant })).field).toBe(`merchant.${field}`);
    },
  );

  it('refuses v3 settings without apiVersion v3, so a forgotten switch does not pass silently', async () => {
    expect((await refusal({ merchant: v3Merchant })).field).toBe('merchant.apiV3Key');
    expect((await refusal({ merchant: MERCHANT, signWith: 'certificate' })).field).toBe('signWith');
  });

  it('refuses a non-32-byte APIv3 key, private merchantPublicKey, weak/bogus platform keys; echoes none', async () => {
    const short = await refusal({ apiVersion: 'v3', merchant: { ...v3Merchant, apiV3Key: 'sixteenBytesKey!' } });
    expect(short.field).toBe('merchant.apiV3Key');
    expect(short.message).not.toContain('sixteenBytesKey!');
    const privateAsPublic = await refusal({
      apiVersion: 'v3',
      merchant: { ...v3Merchant, merchantPublicKey: V3_MERCHANT.privateKeyPem },
    });
    expect(privateAsPublic.field).toBe('merchant.merchantPublicKey');
    expect(privateAsPublic.message).not.toContain('PRIVATE KEY');
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    expect((await refusal({ apiVersion: 'v3', merchant: v3Merchant, platformPrivateKey: weak })).field).toBe(
      'platformPrivateKey',
    );
    expect((await refusal({ apiVersion: 'v3', merchant: v3Merchant, platformPrivateKey: 'not a key' })).field).toBe(
      'platformPrivateKey',
    );
    expect((await refusal({ apiVersion: 'v3', merchant: { ...v3Merchant, certSerial: 'XYZ' } })).field).toBe(
      'merchant.certSerial',
    );
  });

  it('accepts the merchant certificate instead of its public key', async () => {
    const { createSelfSignedCertificate } = await import('#shared/wechatpay/v3/testing/self-signed-certificate');
    const certificate = createSelfSignedCertificate({
      privateKey: V3_MERCHANT.privateKey,
      notBefore: new Date('2024-01-01'),
      notAfter: new Date('2040-01-01'),
    });
    const sim = await start({ merchant: { ...v3Merchant, merchantPublicKey: certificate.pem } });
    const { client } = v3Client(sim);
    await expect(client.queryByOutTradeNo('Nothing123')).rejects.toMatchObject({ code: 'ORDERNOTEXIST' });
  });
});

describe('the platform identity', () => {
  it('comes from platformPrivateKey when given: the same key gives the same id, serial and certificate', async () => {
    const key = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const [a, b] = await Promise.all([
      start({ platformPrivateKey: pem }),
      start({ platformPrivateKey: pem, signWith: 'certificate' }),
    ]);
    expect(platformOf(a).publicKeyPem).toBe(key.publicKey.export({ type: 'spki', format: 'pem' }).toString());
    const { signWith: _a, ...identityA } = platformOf(a);
    const { signWith: _b, ...identityB } = platformOf(b);
    expect(identityA).toEqual(identityB);
    const other = await start();
    expect(platformOf(other).publicKeyId).not.toBe(platformOf(a).publicKeyId);
    expect(platformOf(other).certificateSerial).not.toBe(platformOf(a).certificateSerial);
  });

  it('is generated once and kept in dataDir (owner-only), so a restart presents the same one', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'sim-v3-'));
    const first = await start({ dataDir });
    const before = platformOf(first);
    await stop(first);
    const file = join(dataDir, PLATFORM_KEY_FILE);
    expect(readFileSync(file, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(statSync(file).mode & 0o077).toBe(0);
    const second = await start({ dataDir });
    expect(platformOf(second)).toEqual(before);
    // A merchant configured before the restart still verifies the answers.
    const { client, fetched } = v3Client(second);
    await expect(client.queryByOutTradeNo('Nothing123')).rejects.toMatchObject({ code: 'ORDERNOTEXIST' });
    expect(fetched.filter((u) => u.endsWith('/v3/certificates'))).toEqual([]);
  });
});

describe('v3 state across restarts', () => {
  let receiver: V3Receiver | undefined;
  afterAll(async () => {
    await receiver?.close();
  });

  it('a v3 order keeps its payment; a pending v3 notification outlasts a v2-only start and resumes in v3', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'sim-v3-'));
    const first = await start({ dataDir, timeScale: 1000 });
    const notified = await V3Receiver.start(platformKeys(first));
    receiver = notified;
    notified.respond = () => ({ status: 503, body: '' });
    const { client } = v3Client(first);
    const outTradeNo = newOutTradeNo('R');
    await client.prepayApp({ description: 'restart', outTradeNo, notifyUrl: notified.url, amount: { total: 300 } });
    const paid = await pay(first.url, outTradeNo);
    await waitFor(() => notified.for(outTradeNo).length >= 1, 3000, 'first attempt');
    await stop(first);
    const attemptsBefore = notified.for(outTradeNo).length;

    // A v2-only simulator on the same state cannot write v3 notifications: the job stays pending.
    const v2Only = await startSimulator({
      merchant: { appid: V3_MERCHANT.appid, mchid: V3_MERCHANT.mchid, apiKey: MERCHANT.apiKey },
      dataDir,
      timeScale: 1000,
    });
    running.push(v2Only);
    await new Promise((r) => setTimeout(r, 200));
    expect(notified.for(outTradeNo)).toHaveLength(attemptsBefore);
    expect((await debugOrder(v2Only.url, outTradeNo)).order).toMatchObject({
      api_version: 'v3',
      notification: { status: 'pending' },
    });
    await stop(v2Only);

    notified.respond = () => undefined;
    const second = await start({ dataDir, timeScale: 1000 });
    await waitFor(
      async () => (await debugOrder(second.url, outTradeNo)).order?.notification?.status === 'delivered',
      5000,
      'delivery after restart',
    );
    const last = notified.for(outTradeNo).at(-1);
    expect(last?.verified.kind).toBe('trade');
    expect(await v3Client(second).client.queryByOutTradeNo(outTradeNo)).toMatchObject({
      trade_state: 'SUCCESS',
      transaction_id: paid.json.transaction_id,
    });
  });
});
