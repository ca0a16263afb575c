import { execFileSync } from 'node:child_process';
import { createCipheriv } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';

import { refundReqInfoKey } from '#shared/wechatpay/v2/refund-req-info';
import type { SignType } from '#shared/wechatpay/v2/sign';
import { signV2 } from '#shared/wechatpay/v2/sign';
import { parseXml, toXml } from '#shared/wechatpay/v2/xml';
import { loadVectors } from './vectors';

/**
 * WeChat Pay v2 fixtures: notifications and answers signed the way WeChat signs them, and a tiny
 * loopback server that answers with crafted bytes, for faults the simulator does not produce.
 */

// ---- published vectors ------------------------------------------------------------------------

export interface V2SignVector {
  id: string;
  kind?: string;
  params: Record<string, string>;
  key: string;
  sign_type: SignType;
  expected_sign: string;
  computed_stringSignTemp: string;
  /** true: recomputed by the vector's curator and matched; 'self-computed': derived, not an external oracle. */
  verified: boolean | string;
}

export function v2SignVectors(): V2SignVector[] {
  return loadVectors<{ vectors: V2SignVector[] }>('v2-sign.json').vectors;
}

export interface RefundReqInfoVector {
  id: string;
  apiv2_key?: string;
  derived_aes_key_md5_hex_lower?: string;
  req_info_base64: string;
  plaintext?: string;
  verified?: boolean;
}

export function refundReqInfoVectors(): RefundReqInfoVector[] {
  return loadVectors<{ vectors: RefundReqInfoVector[] }>('v2-refund-reqinfo-aes-ecb.json').vectors;
}

/** What WeChat puts in a refund notification's req_info, for fixtures (AES-256-ECB, PKCS#7). */
export function encryptRefundReqInfo(xml: string, apiKey: string): string {
  const cipher = createCipheriv('aes-256-ecb', refundReqInfoKey(apiKey), null);
  return Buffer.concat([cipher.update(xml, 'utf8'), cipher.final()]).toString('base64');
}

// ---- signed fixtures ----------------------------------------------------------------------------

export type V2Fields = Record<string, string | undefined>;

/** `fields` plus their signature, as WeChat's XML (digits bare, text in CDATA). Any given sign is replaced. */
export function signedV2Xml(fields: V2Fields, apiKey: string, signType: SignType = 'HMAC-SHA256'): string {
  const { sign: _ignored, ...rest } = fields;
  return toXml({ ...rest, sign: signV2(rest, apiKey, signType) });
}

/**
 * A v2 payment notification body as WeChat POSTs it. Notifications carry no sign_type; pass 'MD5'
 * to imitate WeChat MD5-signing for a merchant set up for HMAC-SHA256.
 */
export function signedV2Notification(fields: V2Fields, apiKey: string, signType: SignType = 'HMAC-SHA256'): string {
  return signedV2Xml(fields, apiKey, signType);
}

/** The fields of a successful payment notification; override any of them. */
export function paidNotificationFields(
  merchant: { appid: string; mchid: string },
  outTradeNo: string,
  overrides: V2Fields = {},
): V2Fields {
  return {
    return_code: 'SUCCESS',
    return_msg: 'OK',
    appid: merchant.appid,
    mch_id: merchant.mchid,
    nonce_str: '5d2b6c2a8db53831f7eda20af46e531c',
    result_code: 'SUCCESS',
    openid: 'oUpF8uMEb4qRXf22hE3X68TekukE',
    is_subscribe: 'N',
    trade_type: 'JSAPI',
    bank_type: 'CFT',
    total_fee: '100',
    fee_type: 'CNY',
    cash_fee: '100',
    transaction_id: '4200000000202611250000000001',
    out_trade_no: outTradeNo,
    time_end: '20261125120000',
    ...overrides,
  };
}

// ---- crafted-answer server ----------------------------------------------------------------------

export interface CraftedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  /** The request body parsed as WeChat v2 XML (empty when it is not). */
  fields: Record<string, string>;
  /** Over TLS: the CN of the client certificate the client presented and the server's CA verified. */
  clientCertificateCN?: string;
}

export interface CraftedAnswer {
  status?: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Wait this long before answering (to provoke a client timeout). */
  delayMs?: number;
  /** Drop the connection without an answer. */
  destroy?: boolean;
}

export interface CraftedServer {
  url: string;
  requests: CraftedRequest[];
  close(): Promise<void>;
}

/**
 * The crafted server over HTTPS: its certificate, and the CA whose client certificates it asks for
 * (requested, not required, so an answer can be crafted for a client that sent none, as WeChat's
 * nginx answers 400 then).
 */
export interface CraftedTls {
  certPem: string;
  keyPem: string;
  clientCaPem?: string;
}

/**
 * An HTTP server on 127.0.0.1 whose answer to each request is whatever `answer` returns; HTTPS
 * when `tls` is given.
 */
export async function startCraftedServer(
  answer: (req: CraftedRequest, index: number) => CraftedAnswer | Promise<CraftedAnswer>,
  tls?: CraftedTls,
): Promise<CraftedServer> {
  const requests: CraftedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let fields: Record<string, string> = {};
      try {
        fields = parseXml(body);
      } catch {
        fields = {};
      }
      const crafted: CraftedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body,
        fields,
      };
      if (tls !== undefined) {
        const socket = req.socket as TLSSocket;
        const commonName = socket.authorized ? socket.getPeerCertificate().subject?.CN : undefined;
        if (typeof commonName === 'string') crafted.clientCertificateCN = commonName;
      }
      const index = requests.push(crafted) - 1;
      void Promise.resolve(answer(crafted, index)).then((a) => {
        const send = (): void => {
          if (a.destroy) {
            res.destroy();
            return;
          }
          res.writeHead(a.status ?? 200, { 'content-type': 'text/xml', ...a.headers });
          res.end(a.body ?? '');
        };
        if (a.delayMs) {
          const t = setTimeout(() => {
            timers.delete(t);
            send();
          }, a.delayMs);
          timers.add(t);
        } else send();
      });
    });
  };
  const server =
    tls === undefined
      ? createServer(handler)
      : createHttpsServer(
          {
            cert: tls.certPem,
            key: tls.keyPem,
            ...(tls.clientCaPem === undefined
              ? {}
              : { ca: tls.clientCaPem, requestCert: true, rejectUnauthorized: false }),
          },
          handler,
        );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// ---- API client certificates ----------------------------------------------------------------------

/**
 * apiclient_cert.p12 made from a PEM pair by the `openssl` CLI, as a merchant would (node:crypto
 * cannot write PKCS#12). `legacy`: RC2-40 and 3DES, as older WeChat downloads are, which OpenSSL 3
 * reads only with its legacy provider.
 */
export function makeP12(
  pair: { certPem: string; keyPem: string },
  password: string,
  opts: { legacy?: boolean } = {},
): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'apiclient-p12-'));
  try {
    writeFileSync(join(dir, 'cert.pem'), pair.certPem);
    writeFileSync(join(dir, 'key.pem'), pair.keyPem, { mode: 0o600 });
    const out = join(dir, 'apiclient_cert.p12');
    execFileSync(
      'openssl',
      [
        'pkcs12',
        '-export',
        ...(opts.legacy ? ['-legacy'] : []),
        '-in',
        join(dir, 'cert.pem'),
        '-inkey',
        join(dir, 'key.pem'),
        '-passout',
        `pass:${password}`,
        '-out',
        out,
      ],
      { stdio: 'pipe' },
    );
    return readFileSync(out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
