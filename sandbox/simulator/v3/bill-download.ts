import type { IncomingMessage, ServerResponse } from 'node:http';
import { BodyTooLargeError, readBody, requestOrigin, sendBytes, sendWithHeaders } from '../http-io';
import { nonce } from '../ids';
import type { Route } from '../router';
import { authenticateMerchant } from './authenticate';
import type { V3Call } from './call';
import type { V3Context } from './context';
import type { SignWith } from './platform';
import { signerOf } from './platform';
import { renderSigned, v3Error } from './replies';
import type { V3Reply } from './replies';
import { BILL_DOWNLOAD_PATH } from './trade-bill';

/** As every v3 request: a download asks with no body at all. */
const MAX_REQUEST_BYTES = 32 * 1024;

export interface BillDownloadDeps extends V3Context {
  signWith: SignWith;
}

/**
 * GET /v3/billdownload/file?token=…: the bill file a tradebill answer pointed to, for 30 seconds. The
 * request carries the merchant's Authorization (over the path and query, as every v3 GET); the file
 * comes back with NO Wechatpay-* signature headers — the hash given with the URL vouches for it — as
 * gzip when tar_type=GZIP was asked. Refusals are signed JSON like every other v3 error.
 */
export function billDownloadRoute(deps: BillDownloadDeps): Route {
  return { method: '*', path: BILL_DOWNLOAD_PATH, handler: (req, res) => download(req, res, deps) };
}

async function download(req: IncomingMessage, res: ServerResponse, deps: BillDownloadDeps): Promise<void> {
  const method = req.method ?? 'GET';
  const url = req.url ?? '/';
  // A GET's body is ignored; it is read (within the usual limit) so the connection stays usable.
  const body = await readBody(req, MAX_REQUEST_BYTES).catch((err: unknown) => {
    if (err instanceof BodyTooLargeError) return '';
    throw err;
  });
  const query = new URL(url, 'http://simulator').searchParams;
  const call: V3Call = { method, url, params: {}, query, origin: requestOrigin(req), body, json: undefined };
  const refusal =
    method !== 'GET'
      ? v3Error(405, 'METHOD_NOT_ALLOWED', '请使用GET方法 (GET only)')
      : authenticateMerchant(req, call, deps);
  if (refusal !== undefined) {
    sendSigned(res, refusal, deps);
    return;
  }
  const file = deps.billTokens.find(query.get('token') ?? '');
  if (file === undefined) {
    sendSigned(
      res,
      v3Error(400, 'INVALID_REQUEST', '下载链接已失效 (unknown token, or the download_url is older than 30 s)'),
      deps,
    );
    return;
  }
  sendBytes(res, 200, file.bytes, {
    'content-type': file.gzip ? 'application/octet-stream' : 'text/plain; charset=utf-8',
    'Request-ID': nonce(32),
  });
}

function sendSigned(res: ServerResponse, reply: V3Reply, deps: BillDownloadDeps): void {
  const sent = renderSigned(reply, signerOf(deps.platform, deps.signWith), deps.clock.now());
  sendWithHeaders(res, sent.status, sent.body, sent.headers);
}
