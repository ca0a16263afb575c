import { createDecipheriv, createHash, createHmac, timingSafeEqual, verify as cryptoVerify } from 'node:crypto';

import { SANDBOX_MERCHANT } from '#sandbox/simulator/sandbox-merchant';
import { WechatPayV2NotificationCodec } from '#shared/adapters/wechatpay-v2-notification-codec';
import { WechatPayV3NotificationCodec } from '#shared/adapters/wechatpay-v3-notification-codec';
import { parseV2Notification } from '#shared/wechatpay/v2/notification';
import { canonicalString, type SignType, signV2, verifyV2 } from '#shared/wechatpay/v2/sign';
import { decryptResource, type EncryptedResource } from '#shared/wechatpay/v3/aead';
import { KeyRing } from '#shared/wechatpay/v3/key-ring';
import { verifySha256Rsa } from '#shared/wechatpay/v3/sign';
import {
  readWechatpaySignature,
  verifyWechatpaySignature,
  wechatpaySignMessage,
} from '#shared/wechatpay/v3/wechatpay-signature';
import { paidNotificationFields, signedV2Notification } from '#test/helpers/wechatpay-v2';
import {
  asPublicKeySigner,
  createPlatformIdentity,
  paidTransaction,
  signedNotification,
  TEST_APIV3_KEY,
  TEST_APPID,
  TEST_MCHID,
} from '#test/helpers/wechatpay-v3';
import { measureOps, type OpCase, type OpsOptions } from './measure';
import { peerVersions, tenpay, wechatpayAxiosPlugin } from './peers';
import { ratio } from './stats';

/**
 * Part 3, in process: v2 signing and verifying, whole v2 notifications, and the v3 primitives and
 * whole v3 notifications, each against Node's bare crypto doing the same cryptographic work (the
 * limit) and against tenpay and wechatpay-axios-plugin doing the same job.
 */

export type Implementation = 'ours' | 'ours (notify codec)' | 'node crypto' | 'tenpay' | 'wechatpay-axios-plugin';

export interface SigningCase {
  id: string;
  group: string;
  impl: Implementation;
  /** Must hold before timing: an implementation that gets the input wrong is not timed. */
  check: () => boolean | Promise<boolean>;
  run: () => unknown;
}

export interface SigningRow {
  id: string;
  group: string;
  impl: Implementation;
  opsPerSecond: number | null;
  note?: string;
}

export interface SigningResult {
  rows: SigningRow[];
  peers: Record<string, string>;
  /** Our v2 sign ÷ the bare hash of the same canonical string. */
  signVsCrypto: { hmacSha256: number | null; md5: number | null };
  verifyVsCrypto: { hmacSha256: number | null };
  /** Our sign ÷ each peer's sign (HMAC-SHA256); above 1 means ahead. */
  signVsPeers: Record<string, number | null>;
  /** Our whole v2 notification (MD5-signed, as WeChat signs by default) ÷ each peer's. */
  notificationVsPeers: Record<string, number | null>;
  v3: { rsaVerifyVsCrypto: number | null; aesGcmVsCrypto: number | null; notificationVsCrypto: number | null };
}

/**
 * The cases, built once from a realistic notification; exported so a test can check that each case accepts its
 * input.
 */
export function signingCases(): SigningCase[] {
  const merchant = SANDBOX_MERCHANT;
  const key = merchant.apiKey;
  const fields = paidNotificationFields(merchant, 'BENCH2026112500000001', { trade_type: 'JSAPI', attach: 'bench' });
  const signText = `${canonicalString(fields)}&key=${key}`;
  const signed = (type: SignType) => ({ ...fields, sign: signV2(fields, key, type) });
  const signedHmac = signed('HMAC-SHA256');
  const xml = {
    MD5: signedV2Notification(fields, key, 'MD5'),
    'HMAC-SHA256': signedV2Notification(fields, key, 'HMAC-SHA256'),
  };
  const v2Codec = new WechatPayV2NotificationCodec({ apiKey: key });
  const tp = tenpay(merchant);
  const ax = wechatpayAxiosPlugin(merchant);

  const cryptoSign = (type: SignType) =>
    type === 'MD5'
      ? createHash('md5').update(signText, 'utf8').digest('hex').toUpperCase()
      : createHmac('sha256', key).update(signText, 'utf8').digest('hex').toUpperCase();

  const cases: SigningCase[] = [];
  for (const type of ['HMAC-SHA256', 'MD5'] as const) {
    const group = `v2 sign (${type})`;
    const expected = signV2(fields, key, type);
    cases.push(
      {
        id: `v2.sign.${type}.ours`,
        group,
        impl: 'ours',
        check: () => signV2(fields, key, type) === expected,
        run: () => signV2(fields, key, type),
      },
      {
        id: `v2.sign.${type}.crypto`,
        group,
        impl: 'node crypto',
        check: () => cryptoSign(type) === expected,
        run: () => cryptoSign(type),
      },
      {
        id: `v2.sign.${type}.tenpay`,
        group,
        impl: 'tenpay',
        check: () => tp.sign(fields, type) === expected,
        run: () => tp.sign(fields, type),
      },
      {
        id: `v2.sign.${type}.axios`,
        group,
        impl: 'wechatpay-axios-plugin',
        check: () => ax.sign(fields, type) === expected,
        run: () => ax.sign(fields, type),
      },
    );
  }

  {
    const group = 'v2 verify (HMAC-SHA256)';
    const given = Buffer.from(signedHmac.sign, 'utf8');
    const cryptoVerifyHmac = () => {
      const expected = Buffer.from(cryptoSign('HMAC-SHA256'), 'utf8');
      return expected.length === given.length && timingSafeEqual(expected, given);
    };
    cases.push(
      {
        id: 'v2.verify.ours',
        group,
        impl: 'ours',
        check: () => verifyV2(signedHmac, key),
        run: () => verifyV2(signedHmac, key),
      },
      { id: 'v2.verify.crypto', group, impl: 'node crypto', check: cryptoVerifyHmac, run: cryptoVerifyHmac },
      {
        id: 'v2.verify.tenpay',
        group,
        impl: 'tenpay',
        check: () => tp.verify(signedHmac, 'HMAC-SHA256'),
        run: () => tp.verify(signedHmac, 'HMAC-SHA256'),
      },
      {
        id: 'v2.verify.axios',
        group,
        impl: 'wechatpay-axios-plugin',
        check: () => ax.verify(signedHmac),
        run: () => ax.verify(signedHmac),
      },
    );
  }

  for (const type of ['MD5', 'HMAC-SHA256'] as const) {
    const group = `v2 notification: parse XML, verify, extract (${type}-signed)`;
    const body = xml[type];
    const raw = { headers: { 'content-type': 'text/xml' }, body };
    cases.push(
      {
        id: `v2.notify.${type}.ours`,
        group,
        impl: 'ours',
        check: () => parseV2Notification(body, key).ok,
        run: () => parseV2Notification(body, key),
      },
      {
        id: `v2.notify.${type}.codec`,
        group,
        impl: 'ours (notify codec)',
        check: async () => (await v2Codec.verify(raw)).kind === 'trade',
        run: () => v2Codec.verify(raw),
      },
      {
        id: `v2.notify.${type}.tenpay`,
        group,
        impl: 'tenpay',
        check: () => tp.notification(body),
        run: () => tp.notification(body),
      },
      {
        id: `v2.notify.${type}.axios`,
        group,
        impl: 'wechatpay-axios-plugin',
        check: () => ax.notification(body),
        run: () => ax.notification(body),
      },
    );
  }

  // v3: a TRANSACTION.SUCCESS notification signed with a WeChat Pay public key (PUB_KEY_ID_…).
  const platform = createPlatformIdentity();
  const now = new Date();
  const v3 = signedNotification({
    transaction: paidTransaction({ appid: TEST_APPID, mchid: TEST_MCHID }),
    signer: asPublicKeySigner(platform),
    now,
    apiV3Key: TEST_APIV3_KEY,
  });
  const signature = readWechatpaySignature(v3.headers);
  if (signature === undefined) throw new Error('the v3 fixture lacks its signature headers');
  const message = wechatpaySignMessage(signature.timestamp, signature.nonce, v3.body);
  const messageBytes = Buffer.from(message, 'utf8');
  const resource = (JSON.parse(v3.body) as { resource: EncryptedResource }).resource;
  const apiV3Key = Buffer.from(TEST_APIV3_KEY, 'utf8');
  const keys = new KeyRing();
  keys.addPublicKey(platform.publicKeyId, platform.publicKey);
  const clock = { now: () => now };
  const v3Codec = new WechatPayV3NotificationCodec({ apiV3Key: TEST_APIV3_KEY, keys, clock });
  const plaintext = decryptResource(resource, apiV3Key);

  const cryptoRsa = () =>
    cryptoVerify('sha256', messageBytes, platform.publicKey, Buffer.from(signature.signature, 'base64'));
  const cryptoAes = () => {
    const data = Buffer.from(resource.ciphertext, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', apiV3Key, Buffer.from(resource.nonce, 'utf8'), {
      authTagLength: 16,
    });
    decipher.setAuthTag(data.subarray(data.length - 16));
    decipher.setAAD(Buffer.from(resource.associated_data ?? '', 'utf8'));
    return Buffer.concat([decipher.update(data.subarray(0, data.length - 16)), decipher.final()]).toString('utf8');
  };
  const axAes = () => ax.aesGcmDecrypt(resource.ciphertext, apiV3Key, resource.nonce, resource.associated_data ?? '');
  cases.push(
    {
      id: 'v3.rsa.ours',
      group: 'v3 RSA-SHA256 verify',
      impl: 'ours',
      check: () => verifySha256Rsa(message, signature.signature, platform.publicKey),
      run: () => verifySha256Rsa(message, signature.signature, platform.publicKey),
    },
    { id: 'v3.rsa.crypto', group: 'v3 RSA-SHA256 verify', impl: 'node crypto', check: cryptoRsa, run: cryptoRsa },
    {
      id: 'v3.rsa.axios',
      group: 'v3 RSA-SHA256 verify',
      impl: 'wechatpay-axios-plugin',
      check: () => ax.rsaVerify(message, signature.signature, platform.publicKey),
      run: () => ax.rsaVerify(message, signature.signature, platform.publicKey),
    },
    {
      id: 'v3.aes.ours',
      group: 'v3 AES-256-GCM decrypt',
      impl: 'ours',
      check: () => decryptResource(resource, apiV3Key) === plaintext,
      run: () => decryptResource(resource, apiV3Key),
    },
    {
      id: 'v3.aes.crypto',
      group: 'v3 AES-256-GCM decrypt',
      impl: 'node crypto',
      check: () => cryptoAes() === plaintext,
      run: cryptoAes,
    },
    {
      id: 'v3.aes.axios',
      group: 'v3 AES-256-GCM decrypt',
      impl: 'wechatpay-axios-plugin',
      check: () => axAes() === plaintext,
      run: axAes,
    },
  );

  const v3Group = 'v3 notification: headers, verify, decrypt, validate';
  const raw = { headers: v3.headers, body: v3.body };
  const cryptoWhole = () =>
    cryptoRsa() && (JSON.parse(cryptoAes()) as { trade_state?: string }).trade_state === 'SUCCESS';
  const axWhole = () => {
    if (!ax.rsaVerify(message, signature.signature, platform.publicKey)) return false;
    const envelope = JSON.parse(v3.body) as { resource: EncryptedResource };
    const r = envelope.resource;
    const tx = JSON.parse(ax.aesGcmDecrypt(r.ciphertext, apiV3Key, r.nonce, r.associated_data ?? '')) as {
      trade_state?: string;
    };
    return tx.trade_state === 'SUCCESS';
  };
  cases.push(
    {
      id: 'v3.notify.codec',
      group: v3Group,
      impl: 'ours (notify codec)',
      check: async () => (await v3Codec.verify(raw)).kind === 'trade',
      run: () => v3Codec.verify(raw),
    },
    {
      id: 'v3.notify.signature',
      group: v3Group,
      impl: 'ours',
      check: async () => (await verifyWechatpaySignature({ signature, body: v3.body }, keys, { now })).ok,
      run: () => verifyWechatpaySignature({ signature, body: v3.body }, keys, { now }),
    },
    { id: 'v3.notify.crypto', group: v3Group, impl: 'node crypto', check: cryptoWhole, run: cryptoWhole },
    { id: 'v3.notify.axios', group: v3Group, impl: 'wechatpay-axios-plugin', check: axWhole, run: axWhole },
  );
  return cases;
}

const NOTES: Record<string, string> = {
  'v3.notify.signature': 'signature check alone (headers, timestamp, key by serial, RSA)',
  'v3.notify.crypto': 'RSA verify + AES-GCM decrypt + JSON.parse only: no header, timestamp or schema checks',
  'v3.notify.axios': 'RSA verify + decrypt + JSON.parse, no timestamp or schema checks',
  'v2.sign.HMAC-SHA256.crypto': 'HMAC of the canonical string, already built',
  'v2.sign.MD5.crypto': 'MD5 of the canonical string, already built',
  'v2.verify.tenpay': 'compares with !== (not constant time)',
};

export async function runSigning(options: OpsOptions & { progress: (line: string) => void }): Promise<SigningResult> {
  options.progress(`part 3: signing and parsing (${options.rounds} rounds × ${options.roundMs} ms per case)`);
  const cases = signingCases();
  const timedCases: OpCase[] = [];
  const rows: SigningRow[] = [];
  for (const c of cases) {
    let ok = false;
    let why = 'rejected a valid input';
    try {
      ok = await c.check();
    } catch (error) {
      why = `threw on a valid input: ${(error as Error).message}`;
    }
    rows.push({ id: c.id, group: c.group, impl: c.impl, opsPerSecond: null, ...(ok ? {} : { note: why }) });
    if (ok) timedCases.push({ name: c.id, run: c.run });
  }
  // tenpay verifies a notification that carries no sign_type with MD5 only.
  const tenpayHmac = rows.find((r) => r.id === 'v2.notify.HMAC-SHA256.tenpay');
  if (tenpayHmac?.note !== undefined)
    tenpayHmac.note = 'refuses it: verifies notifications (no sign_type) with MD5 only';

  const ops = await measureOps(timedCases, options);
  for (const row of rows) {
    row.opsPerSecond = ops.get(row.id) ?? null;
    const note = NOTES[row.id];
    if (note !== undefined && row.note === undefined) row.note = note;
  }
  const of = (id: string) => ops.get(id) ?? Number.NaN;
  return {
    rows,
    peers: { ...peerVersions() },
    signVsCrypto: {
      hmacSha256: ratio(of('v2.sign.HMAC-SHA256.ours'), of('v2.sign.HMAC-SHA256.crypto')),
      md5: ratio(of('v2.sign.MD5.ours'), of('v2.sign.MD5.crypto')),
    },
    verifyVsCrypto: { hmacSha256: ratio(of('v2.verify.ours'), of('v2.verify.crypto')) },
    signVsPeers: {
      tenpay: ratio(of('v2.sign.HMAC-SHA256.ours'), of('v2.sign.HMAC-SHA256.tenpay')),
      'wechatpay-axios-plugin': ratio(of('v2.sign.HMAC-SHA256.ours'), of('v2.sign.HMAC-SHA256.axios')),
    },
    notificationVsPeers: {
      tenpay: ratio(of('v2.notify.MD5.ours'), of('v2.notify.MD5.tenpay')),
      'wechatpay-axios-plugin': ratio(of('v2.notify.MD5.ours'), of('v2.notify.MD5.axios')),
    },
    v3: {
      rsaVerifyVsCrypto: ratio(of('v3.rsa.ours'), of('v3.rsa.crypto')),
      aesGcmVsCrypto: ratio(of('v3.aes.ours'), of('v3.aes.crypto')),
      notificationVsCrypto: ratio(of('v3.notify.codec'), of('v3.notify.crypto')),
    },
  };
}
