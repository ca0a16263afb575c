import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { AxiosRequestConfig, AxiosResponse } from 'axios';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Aes, Formatter, Rsa, Wechatpay } from 'wechatpay-axios-plugin';
import { startSimulator } from '#sandbox/simulator/server';
import type { RunningSimulator, SimulatorOptions, SimulatorPlatform } from '#sandbox/simulator/server';
import {
  LoopbackEndpoint,
  MERCHANT,
  clearFaults,
  delivered,
  merchantV3Identity,
  newOutTradeNo,
  payOrder,
  setNotifyFault,
  simulatorRecord,
  sleep,
  startTamperingProxy,
  waitFor,
} from './independent-clients-support';
import type { Relayed, TamperingProxy } from './independent-clients-support';

// API v3 interop with wechatpay-axios-plugin, which shares no code with ours: it signs the
// merchant's Authorization with the merchant's private key, verifies every 2xx answer of the
// simulator (Wechatpay-* headers) with the platform public key or certificate it is configured with,
// and its Rsa, Formatter and AesGcm tools verify and decrypt the simulator's notifications. The
// simulator signs and encrypts with shared/wechatpay/v3, so a bug there that our own client mirrors
// would pass our other tests and fail these.

/** The merchant: its v2 key, and an RSA key pair, certificate serial and APIv3 key made for this file. */
const V3_MERCHANT = { ...MERCHANT, ...merchantV3Identity() };
const APIV3_KEY = V3_MERCHANT.apiV3Key;

// ---- The part of the plugin's chained client these tests use, typed narrowly ----

/** Extra fields fill the URL template, e.g. `out_trade_no` for `{out_trade_no}`. */
type V3Config = AxiosRequestConfig & { out_trade_no?: string };

interface V3Resource {
  get(config?: V3Config): Promise<AxiosResponse<unknown>>;
  post(data: unknown, config?: V3Config): Promise<AxiosResponse<unknown>>;
}

interface V3Api {
  native: V3Resource;
  jsapi: V3Resource;
  /** GET /v3/pay/transactions/out-trade-no/{out_trade_no} */
  byOutTradeNo: V3Resource;
  /** POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close */
  close: V3Resource;
  certificates: V3Resource;
}

interface PluginOptions {
  baseUrl: string;
  /** `{ serial or public key id: PEM }`: what the plugin verifies answers with. */
  certs: Record<string, string>;
  privateKey?: string;
  serial?: string;
}

/**
 * Walks the plugin's chained client: each property read is one more path segment (its typings say
 * so with an index signature, which strict indexing reads as possibly undefined), and every node
 * carries the HTTP verbs.
 */
function chain(root: Wechatpay, ...segments: string[]): V3Resource {
  let node: unknown = root;
  for (const segment of segments) node = (node as Record<string, unknown>)[segment];
  return node as V3Resource;
}

function pluginClient(options: PluginOptions): V3Api {
  const wxpay = new Wechatpay({
    baseURL: `${options.baseUrl}/`,
    mchid: V3_MERCHANT.mchid,
    serial: options.serial ?? V3_MERCHANT.serial,
    privateKey: options.privateKey ?? V3_MERCHANT.privateKeyPem,
    certs: options.certs,
  });
  const transactions = ['v3', 'pay', 'transactions'];
  // The plugin's naming rules: `outTradeNo` is the segment `out-trade-no`,
  // `$out_trade_no$` the template `{out_trade_no}` (filled from the request config).
  const byOutTradeNo = [...transactions, 'outTradeNo', '$out_trade_no$'];
  return {
    native: chain(wxpay, ...transactions, 'native'),
    jsapi: chain(wxpay, ...transactions, 'jsapi'),
    byOutTradeNo: chain(wxpay, ...byOutTradeNo),
    close: chain(wxpay, ...byOutTradeNo, 'close'),
    certificates: chain(wxpay, 'v3', 'certificates'),
  };
}

/** A v3 simulator for V3_MERCHANT (which also holds its v2 key, as real merchants do). */
function startV3Simulator(options: Partial<SimulatorOptions> = {}): Promise<RunningSimulator> {
  return startSimulator({
    apiVersion: 'v3',
    merchant: {
      appid: V3_MERCHANT.appid,
      mchid: V3_MERCHANT.mchid,
      apiKey: V3_MERCHANT.apiKey,
      apiV3Key: APIV3_KEY,
      merchantPublicKey: V3_MERCHANT.publicKeyPem,
      certSerial: V3_MERCHANT.serial,
    },
    ...options,
  });
}

function platformOf(sim: RunningSimulator): SimulatorPlatform {
  if (sim.platform === undefined) throw new Error('not a v3 simulator');
  return sim.platform;
}

/** The merchant's public-key configuration: the WeChat Pay public key under its id. */
const publicKeyCerts = (sim: RunningSimulator) => ({ [platformOf(sim).publicKeyId]: platformOf(sim).publicKeyPem });

// ---- The simulator, the plugin, and a notify endpoint verifying with the plugin's tools ----

const TIME_SCALE = 1000; // close's 5 minutes: 300 ms; notification retries: 15 ms, 15 ms, 30 ms, ...
const CLOSE_MINIMUM_MS = (5 * 60_000) / TIME_SCALE;
const OPENID = 'oIndependentPlugin0001';
/** The plugin's own response-time window (lib/decorator.js MAXIMUM_CLOCK_OFFSET), applied to notifications. */
const MAXIMUM_CLOCK_OFFSET_S = 300;

interface EncryptedResource {
  algorithm: string;
  ciphertext: string;
  nonce: string;
  associated_data: string;
  original_type: string;
}

interface Envelope {
  id: string;
  create_time: string;
  event_type: string;
  resource_type: string;
  summary: string;
  resource: EncryptedResource;
}

interface V3Delivery {
  headers: Record<string, string>;
  body: string;
  /** Why the plugin's tools refused it; undefined when its signature verified. */
  refusal: string | undefined;
  envelope: Envelope;
  /** The resource decrypted with the plugin's AesGcm (GCM authenticates it whatever the signature says). */
  transaction: Record<string, unknown>;
}

/** WeChat's signature on a notification, checked with the plugin's Formatter and Rsa, as it checks answers. */
function refusalOf(headers: Record<string, string>, body: string, keys: Record<string, KeyObject>): string | undefined {
  const timestamp = headers['wechatpay-timestamp'];
  const nonce = headers['wechatpay-nonce'];
  const serial = headers['wechatpay-serial'];
  const signature = headers['wechatpay-signature'];
  if (!timestamp || !nonce || !serial || !signature) return 'Wechatpay-* headers incomplete';
  if (Math.abs(Formatter.timestamp() - Number(timestamp)) > MAXIMUM_CLOCK_OFFSET_S) return 'timestamp out of window';
  const key = keys[serial];
  if (key === undefined) return `no key for serial ${serial}`;
  return Rsa.verify(Formatter.response(timestamp, nonce, body), signature, key) ? undefined : 'signature';
}

const decrypt = (resource: EncryptedResource, key = APIV3_KEY, aad = resource.associated_data): string =>
  Aes.AesGcm.decrypt(resource.ciphertext, key, resource.nonce, aad);

let sim: RunningSimulator;
let client: V3Api;
let endpoint: LoopbackEndpoint;
let notifyUrl = '';
const deliveries: V3Delivery[] = [];
/** A key pair that is not the merchant's: the simulator must refuse what it signs. */
const impostor = generateKeyPairSync('rsa', { modulusLength: 2048 });

beforeAll(async () => {
  sim = await startV3Simulator({ timeScale: TIME_SCALE });
  client = pluginClient({ baseUrl: sim.url, certs: publicKeyCerts(sim) });
  const keys = { [platformOf(sim).publicKeyId]: Rsa.from(platformOf(sim).publicKeyPem, Rsa.KEY_TYPE_PUBLIC) };
  // The merchant's notify handler: verifies, then decrypts; 204 acknowledges, 401 refuses (WeChat retries).
  endpoint = await LoopbackEndpoint.start(({ headers, body }) => {
    const refusal = refusalOf(headers, body, keys);
    const envelope = JSON.parse(body) as Envelope;
    const transaction = JSON.parse(decrypt(envelope.resource)) as Record<string, unknown>;
    deliveries.push({ headers, body, refusal, envelope, transaction });
    return refusal === undefined
      ? { status: 204 }
      : { status: 401, headers: { 'content-type': 'application/json' }, body: '{"code":"FAIL","message":"sign"}' };
  });
  notifyUrl = `${endpoint.url}/notify/pay`;
});
afterEach(async () => {
  await clearFaults(sim.url);
});
afterAll(async () => {
  await sim.close();
  await endpoint.close();
});

const prepayBody = (outTradeNo: string, overrides: Record<string, unknown> = {}) => ({
  appid: V3_MERCHANT.appid,
  mchid: V3_MERCHANT.mchid,
  description: '沙箱商店-独立客户端',
  out_trade_no: outTradeNo,
  notify_url: notifyUrl,
  amount: { total: 2999, currency: 'CNY' },
  ...overrides,
});
const query = (api: V3Api, outTradeNo: string) =>
  api.byOutTradeNo.get({ params: { mchid: V3_MERCHANT.mchid }, out_trade_no: outTradeNo });
const close = (api: V3Api, outTradeNo: string) =>
  api.close.post({ mchid: V3_MERCHANT.mchid }, { out_trade_no: outTradeNo });
const deliveriesFor = (outTradeNo: string) => deliveries.filter((d) => d.transaction.out_trade_no === outTradeNo);

/** Runs `body` against a proxy in front of the simulator that changes answers as `tamper` says. */
async function throughProxy(tamper: (answer: Relayed) => Relayed, body: (proxy: TamperingProxy) => Promise<void>) {
  const proxy = await startTamperingProxy(sim.url, tamper);
  try {
    await body(proxy);
  } finally {
    await proxy.close();
  }
}

describe('wechatpay-axios-plugin against the simulator: signed requests, verified answers', () => {
  it("native prepay, then query by out_trade_no: both answers pass the plugin's signature check", async () => {
    const outTradeNo = newOutTradeNo('AXN');
    const prepaid = await client.native.post(prepayBody(outTradeNo, { attach: 'cart=9' }));
    expect(prepaid.status).toBe(200);
    expect(prepaid.data).toEqual({ code_url: expect.stringMatching(/^weixin:\/\/wxpay\/bizpayurl\?pr=/) });
    expect(prepaid.headers['wechatpay-serial']).toBe(platformOf(sim).publicKeyId);

    const queried = await query(client, outTradeNo);
    expect(queried.status).toBe(200);
    expect(queried.data).toMatchObject({
      appid: V3_MERCHANT.appid,
      mchid: V3_MERCHANT.mchid,
      out_trade_no: outTradeNo,
      trade_type: 'NATIVE',
      trade_state: 'NOTPAY',
      attach: 'cart=9',
      amount: { total: 2999, currency: 'CNY' },
    });
    expect(queried.data).not.toHaveProperty('transaction_id');
  });

  it("jsapi prepay with the payer's openid; once paid, the query shows the payment", async () => {
    const outTradeNo = newOutTradeNo('AXJ');
    const prepaid = await client.jsapi.post(prepayBody(outTradeNo, { payer: { openid: OPENID } }));
    expect(prepaid.data).toEqual({ prepay_id: expect.stringMatching(/^wx\d{14}[0-9a-f]{20}$/) });

    expect((await payOrder(sim.url, outTradeNo, 'SUCCESS')).status).toBe(200);
    const queried = await query(client, outTradeNo);
    expect(queried.data).toMatchObject({
      out_trade_no: outTradeNo,
      trade_type: 'JSAPI',
      trade_state: 'SUCCESS',
      transaction_id: expect.stringMatching(/^42000\d{23}$/),
      success_time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$/),
      payer: { openid: OPENID },
      amount: { total: 2999, payer_total: 2999, currency: 'CNY' },
    });
  });

  it('close: 400 INVALID_REQUEST within 5 minutes (scaled), then a verified 204; the order is CLOSED', async () => {
    const outTradeNo = newOutTradeNo('AXC');
    await client.native.post(prepayBody(outTradeNo));
    // The plugin does not verify non-2xx answers (lib/decorator.js, "since v0.8.13"): it hands them over as errors.
    await expect(close(client, outTradeNo)).rejects.toMatchObject({
      response: { status: 400, data: { code: 'INVALID_REQUEST' } },
    });

    await sleep(CLOSE_MINIMUM_MS + 50);
    const closed = await close(client, outTradeNo);
    expect(closed.status).toBe(204);
    expect(closed.data).toBe('');
    expect((await query(client, outTradeNo)).data).toMatchObject({ trade_state: 'CLOSED' });
    expect((await close(client, outTradeNo)).status).toBe(204);
    await expect(client.native.post(prepayBody(outTradeNo))).rejects.toMatchObject({
      response: { status: 400, data: { code: 'ORDER_CLOSED' } },
    });
  });

  it('an unknown order: 404 ORDER_NOT_EXIST', async () => {
    await expect(query(client, newOutTradeNo('AXU'))).rejects.toMatchObject({
      response: { status: 404, data: { code: 'ORDER_NOT_EXIST' } },
    });
  });
});

describe('each side refuses what it cannot verify', () => {
  it('a request signed with another private key, or naming another serial: 401 SIGN_ERROR, nothing made', async () => {
    const outTradeNo = newOutTradeNo('AXI');
    const otherKey = pluginClient({
      baseUrl: sim.url,
      certs: publicKeyCerts(sim),
      privateKey: impostor.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    });
    const otherSerial = pluginClient({ baseUrl: sim.url, certs: publicKeyCerts(sim), serial: '0123456789ABCDEF' });
    for (const api of [otherKey, otherSerial]) {
      await expect(api.native.post(prepayBody(outTradeNo))).rejects.toMatchObject({
        response: { status: 401, data: { code: 'SIGN_ERROR' } },
      });
    }
    await expect(query(client, outTradeNo)).rejects.toMatchObject({ response: { status: 404 } });
  });

  it('answers altered on the way (body, or the nonce of an empty 204) are refused; unaltered they pass', async () => {
    const outTradeNo = newOutTradeNo('AXT');
    await throughProxy(
      (answer) => ({
        ...answer,
        body: answer.body.replace('bizpayurl?pr=', 'bizpayurl?pr=X').replace('"NOTPAY"', '"SUCCESS"'),
      }),
      async (proxy) => {
        const forged = pluginClient({ baseUrl: proxy.url, certs: publicKeyCerts(sim) });
        await expect(forged.native.post(prepayBody(outTradeNo))).rejects.toMatchObject({
          code: 'EV3_RES_HEADER_SIGNATURE_DIGEST',
        });
        await expect(query(forged, outTradeNo)).rejects.toMatchObject({ code: 'EV3_RES_HEADER_SIGNATURE_DIGEST' });
        expect(proxy.tampered).toBe(2);
      },
    );
    await throughProxy(
      (answer) => answer,
      async (proxy) => {
        const honest = pluginClient({ baseUrl: proxy.url, certs: publicKeyCerts(sim) });
        expect((await honest.native.post(prepayBody(outTradeNo))).status).toBe(200);
        expect((await query(honest, outTradeNo)).data).toMatchObject({ trade_state: 'NOTPAY' });
      },
    );

    await sleep(CLOSE_MINIMUM_MS + 50);
    await throughProxy(
      (answer) => ({ ...answer, headers: { ...answer.headers, 'wechatpay-nonce': 'forgedNonce0123456789' } }),
      async (proxy) => {
        const forged = pluginClient({ baseUrl: proxy.url, certs: publicKeyCerts(sim) });
        await expect(close(forged, outTradeNo)).rejects.toMatchObject({ code: 'EV3_RES_HEADER_SIGNATURE_DIGEST' });
        expect(proxy.tampered).toBe(1);
      },
    );
  });

  it('with a wrong key under the right id, or no key for the serial, the plugin refuses genuine answers', async () => {
    const { publicKeyId } = platformOf(sim);
    const wrongKey = pluginClient({ baseUrl: sim.url, certs: { [publicKeyId]: V3_MERCHANT.publicKeyPem } });
    await expect(wrongKey.native.post(prepayBody(newOutTradeNo('AXW')))).rejects.toMatchObject({
      code: 'EV3_RES_HEADER_SIGNATURE_DIGEST',
    });
    const certificateOnly = pluginClient({
      baseUrl: sim.url,
      certs: { [platformOf(sim).certificateSerial]: platformOf(sim).certificatePem },
    });
    await expect(certificateOnly.native.post(prepayBody(newOutTradeNo('AXW')))).rejects.toMatchObject({
      code: 'EV3_RES_HEADER_PLATFORM_SERIAL',
    });
  });
});

describe('a simulator signing with its platform certificate (signWith: certificate)', () => {
  let certSim: RunningSimulator;
  beforeAll(async () => {
    certSim = await startV3Simulator({ signWith: 'certificate' });
  });
  afterAll(async () => {
    await certSim.close();
  });

  it('the certificate downloaded and decrypted with the plugin verifies its own answer and later ones', async () => {
    // Bootstrapping, as a merchant on certificates does: the plugin needs some `certs` to start, and
    // this one download is read raw (no verifier) because no platform key is held yet.
    const bootstrap = pluginClient({ baseUrl: certSim.url, certs: { placeholder: V3_MERCHANT.publicKeyPem } });
    const raw = await bootstrap.certificates.get({ transformResponse: [(data: unknown) => data] });
    expect(raw.status).toBe(200);
    const listing = JSON.parse(String(raw.data)) as {
      data: Array<{ serial_no: string; encrypt_certificate: EncryptedResource }>;
    };
    expect(listing.data).toHaveLength(1);
    const [entry] = listing.data;
    if (entry === undefined) throw new Error('no certificate');
    expect(entry.encrypt_certificate).toMatchObject({ algorithm: 'AEAD_AES_256_GCM', associated_data: 'certificate' });
    const pem = decrypt(entry.encrypt_certificate);
    // node's own X.509 parser: the serial the listing names is the certificate's.
    expect(new X509Certificate(pem).serialNumber.toUpperCase()).toBe(entry.serial_no.toUpperCase());
    expect(entry.serial_no).toBe(platformOf(certSim).certificateSerial);

    const header = (name: string) => String(raw.headers[name]);
    expect(header('wechatpay-serial')).toBe(entry.serial_no);
    const certificateKey = Rsa.from(pem, Rsa.KEY_TYPE_PUBLIC);
    const signed = Formatter.response(header('wechatpay-timestamp'), header('wechatpay-nonce'), String(raw.data));
    expect(Rsa.verify(signed, header('wechatpay-signature'), certificateKey)).toBe(true);
    expect(Rsa.verify(`${signed} `, header('wechatpay-signature'), certificateKey)).toBe(false);

    const onCertificates = pluginClient({ baseUrl: certSim.url, certs: { [entry.serial_no]: pem } });
    const outTradeNo = newOutTradeNo('AXK');
    expect((await onCertificates.native.post(prepayBody(outTradeNo))).status).toBe(200);
    expect((await query(onCertificates, outTradeNo)).data).toMatchObject({ trade_state: 'NOTPAY' });
    expect((await onCertificates.certificates.get()).status).toBe(200);
    // The public-key configuration knows no key by the certificate's serial.
    const onPublicKey = pluginClient({ baseUrl: certSim.url, certs: publicKeyCerts(certSim) });
    await expect(query(onPublicKey, outTradeNo)).rejects.toMatchObject({ code: 'EV3_RES_HEADER_PLATFORM_SERIAL' });
  });
});

describe("notifications verified with the plugin's Rsa/Formatter and decrypted with its AesGcm", () => {
  it('a paid order: verified, decrypted to the transaction the query answers, and acknowledged', async () => {
    const outTradeNo = newOutTradeNo('AXP');
    await client.jsapi.post(prepayBody(outTradeNo, { payer: { openid: OPENID }, attach: 'cart=3' }));
    await payOrder(sim.url, outTradeNo, 'SUCCESS');
    await delivered(sim.url, outTradeNo);

    const [delivery, ...more] = deliveriesFor(outTradeNo);
    expect(more).toHaveLength(0);
    if (delivery === undefined) throw new Error('no notification');
    expect(delivery.refusal).toBeUndefined();
    expect(delivery.headers['wechatpay-serial']).toBe(platformOf(sim).publicKeyId);
    expect(delivery.headers['content-type']).toMatch(/^application\/json/);
    expect(delivery.envelope).toMatchObject({
      event_type: 'TRANSACTION.SUCCESS',
      resource_type: 'encrypt-resource',
      resource: { algorithm: 'AEAD_AES_256_GCM', associated_data: 'transaction', original_type: 'transaction' },
    });
    const queried = await query(client, outTradeNo);
    expect(delivery.transaction).toEqual(queried.data);
    expect(delivery.transaction).toMatchObject({ trade_state: 'SUCCESS', attach: 'cart=3', payer: { openid: OPENID } });

    // The plugin's tools are strict: any change to the body, the ciphertext, the AAD or the key fails.
    const keys = { [platformOf(sim).publicKeyId]: Rsa.from(platformOf(sim).publicKeyPem, Rsa.KEY_TYPE_PUBLIC) };
    const altered = JSON.stringify({ ...delivery.envelope, event_type: 'REFUND.SUCCESS' });
    expect(refusalOf(delivery.headers, delivery.body, keys)).toBeUndefined();
    expect(refusalOf(delivery.headers, altered, keys)).toBe('signature');
    const { resource } = delivery.envelope;
    const flipped = Buffer.from(resource.ciphertext, 'base64');
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    expect(() => decrypt({ ...resource, ciphertext: flipped.toString('base64') })).toThrow();
    expect(() => decrypt(resource, APIV3_KEY, 'certificate')).toThrow();
    expect(() => decrypt(resource, 'another32byteAPIv3keyxxxxxxxxxxx')).toThrow();
  });

  it('a corrupted signature: refused (failed attempts); the retry once the fault clears verifies', async () => {
    const outTradeNo = newOutTradeNo('AXS');
    await client.native.post(prepayBody(outTradeNo));
    await setNotifyFault(sim.url, outTradeNo, 'corrupt_sign');
    await payOrder(sim.url, outTradeNo, 'SUCCESS');

    await waitFor(() => deliveriesFor(outTradeNo).length > 0, 'a first attempt');
    await clearFaults(sim.url);
    await delivered(sim.url, outTradeNo);

    const attempts = deliveriesFor(outTradeNo);
    const refused = attempts.filter((d) => d.refusal !== undefined);
    expect(refused.length).toBeGreaterThan(0);
    for (const d of refused) expect(d.refusal).toBe('signature');
    expect(attempts.at(-1)?.refusal).toBeUndefined();
    // One notification, several attempts: the same envelope id, each attempt signed afresh.
    expect(new Set(attempts.map((d) => d.envelope.id)).size).toBe(1);
    expect(new Set(attempts.map((d) => d.headers['wechatpay-nonce'])).size).toBe(attempts.length);
    const journal = (await simulatorRecord(sim.url, outTradeNo))?.notifications ?? [];
    expect(journal.filter((e) => e.outcome === 'failed')).toHaveLength(refused.length);
    expect(journal.at(-1)?.outcome).toBe('delivered');
  });
});
