import { createPublicKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { isPublicKeyId } from '#shared/wechatpay/v3/key-ring';
import { toPrivateKey, toPublicKey } from '#shared/wechatpay/v3/sign';

/**
 * The v3 key variables a developer sets for `npm start` and `npm run simulator`. Both sides of a
 * signature must hold the two halves of one key pair: the merchant side signs with
 * WECHATPAY_PRIVATE_KEY and the simulator checks with its public half; the simulator signs as WeChat
 * with SIMULATOR_PLATFORM_PRIVATE_KEY and the merchant side checks with WECHATPAY_PUBLIC_KEY, under
 * the id WECHATPAY_PUBLIC_KEY_ID. A configuration that cannot verify end to end is refused here, by
 * the name of the variable to set, instead of every v3 call failing INVALID_SIGNATURE later.
 */
export interface V3KeyVariables {
  WECHATPAY_PRIVATE_KEY?: string | undefined;
  WECHATPAY_CERT_SERIAL?: string | undefined;
  WECHATPAY_APIV3_KEY?: string | undefined;
  WECHATPAY_PUBLIC_KEY?: string | undefined;
  WECHATPAY_PUBLIC_KEY_ID?: string | undefined;
  SIMULATOR_PLATFORM_PRIVATE_KEY?: string | undefined;
}

const MERCHANT_VARIABLES = ['WECHATPAY_PRIVATE_KEY', 'WECHATPAY_CERT_SERIAL', 'WECHATPAY_APIV3_KEY'] as const;
/** The variables that hold a PEM. */
export const PEM_VARIABLES: readonly string[] = [
  'WECHATPAY_PRIVATE_KEY',
  'WECHATPAY_PUBLIC_KEY',
  'SIMULATOR_PLATFORM_PRIVATE_KEY',
];

/** A PEM given on one line with `\n` for its line breaks (as in a .env file) is read as the PEM. */
export function pemFromEnv(value: string | undefined): string | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  return value.replace(/\\n/g, '\n');
}

function privateKeyOf(pem: string): KeyObject | undefined {
  try {
    const key = toPrivateKey(pem);
    return (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048 ? key : undefined;
  } catch {
    return undefined;
  }
}

function publicKeyOf(pem: string): KeyObject | undefined {
  if (pem.includes('PRIVATE KEY')) return undefined;
  try {
    return toPublicKey(pem);
  } catch {
    return undefined;
  }
}

function sameKey(a: KeyObject, b: KeyObject): boolean {
  const der = (k: KeyObject) => (k.type === 'private' ? createPublicKey(k) : k).export({ type: 'spki', format: 'der' });
  return der(a).equals(der(b));
}

/**
 * What is wrong with a v3 configuration served by the simulator, each problem naming the variable to
 * set (never a value: they are keys). Empty when every signature can verify.
 */
export function v3KeyProblems(given: V3KeyVariables): string[] {
  const v = Object.fromEntries(
    Object.entries(given).map(([name, value]) => [
      name,
      PEM_VARIABLES.includes(name) ? pemFromEnv(value) : value?.trim(),
    ]),
  ) as V3KeyVariables;
  const problems: string[] = [];

  const missing = MERCHANT_VARIABLES.filter((name) => !v[name]);
  if (missing.length > 0 && missing.length < MERCHANT_VARIABLES.length) {
    problems.push(
      `set ${missing.join(' and ')} too: WECHATPAY_PRIVATE_KEY, WECHATPAY_CERT_SERIAL and WECHATPAY_APIV3_KEY ` +
        'are your merchant keys together (or set none of them for the generated sandbox keys)',
    );
  }
  if (v.WECHATPAY_PRIVATE_KEY && privateKeyOf(v.WECHATPAY_PRIVATE_KEY) === undefined) {
    problems.push('WECHATPAY_PRIVATE_KEY is not an RSA private key (2048 bits or more) in PEM');
  }

  if (v.WECHATPAY_PUBLIC_KEY && !v.WECHATPAY_PUBLIC_KEY_ID) {
    problems.push('set WECHATPAY_PUBLIC_KEY_ID (PUB_KEY_ID_…) with WECHATPAY_PUBLIC_KEY');
  }
  if (v.WECHATPAY_PUBLIC_KEY_ID && !v.WECHATPAY_PUBLIC_KEY) {
    problems.push('set WECHATPAY_PUBLIC_KEY with WECHATPAY_PUBLIC_KEY_ID');
  }
  if (v.WECHATPAY_PUBLIC_KEY_ID && !isPublicKeyId(v.WECHATPAY_PUBLIC_KEY_ID)) {
    problems.push('WECHATPAY_PUBLIC_KEY_ID must be PUB_KEY_ID_ followed by digits');
  }
  const publicKey = v.WECHATPAY_PUBLIC_KEY ? publicKeyOf(v.WECHATPAY_PUBLIC_KEY) : undefined;
  if (v.WECHATPAY_PUBLIC_KEY && publicKey === undefined) {
    problems.push('WECHATPAY_PUBLIC_KEY is not an RSA public key in PEM');
  }
  const platformKey = v.SIMULATOR_PLATFORM_PRIVATE_KEY ? privateKeyOf(v.SIMULATOR_PLATFORM_PRIVATE_KEY) : undefined;
  if (v.SIMULATOR_PLATFORM_PRIVATE_KEY && platformKey === undefined) {
    problems.push('SIMULATOR_PLATFORM_PRIVATE_KEY is not an RSA private key (2048 bits or more) in PEM');
  }
  if (v.WECHATPAY_PUBLIC_KEY && !v.SIMULATOR_PLATFORM_PRIVATE_KEY) {
    problems.push(
      'WECHATPAY_PUBLIC_KEY is set but SIMULATOR_PLATFORM_PRIVATE_KEY is not: the simulator signs as WeChat Pay, so ' +
        'set SIMULATOR_PLATFORM_PRIVATE_KEY to the private key whose public half is WECHATPAY_PUBLIC_KEY (or unset ' +
        "WECHATPAY_PUBLIC_KEY and WECHATPAY_PUBLIC_KEY_ID to use the simulator's own key)",
    );
  }
  if (publicKey !== undefined && platformKey !== undefined && !sameKey(publicKey, platformKey)) {
    problems.push(
      "SIMULATOR_PLATFORM_PRIVATE_KEY's public half is not WECHATPAY_PUBLIC_KEY: set them to the two halves of " +
        'one key pair, or unset WECHATPAY_PUBLIC_KEY and WECHATPAY_PUBLIC_KEY_ID (they are then taken from ' +
        'SIMULATOR_PLATFORM_PRIVATE_KEY)',
    );
  }
  return problems;
}
