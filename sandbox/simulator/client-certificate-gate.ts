import type { IncomingMessage } from 'node:http';
import { TLSSocket } from 'node:tls';

/**
 * WeChat's /secapi/ paths sit behind an nginx that wants the merchant's API client certificate.
 * The TLS handshake itself succeeds without one (the server asks, but does not insist); nginx then
 * answers HTTP 400 with its own HTML page before WeChat's API sees the request:
 * "No required SSL certificate was sent" without a certificate (or over plain HTTP, which nginx
 * does not serve there at all; the simulator answers the same), "The SSL certificate error" for a
 * certificate WeChat did not issue, or not for this merchant (CN ≠ mchid).
 */

export const SECAPI_PREFIX = '/secapi/';

export type SecapiRefusal = 'NO_CERTIFICATE' | 'BAD_CERTIFICATE';

const MESSAGES: Record<SecapiRefusal, string> = {
  NO_CERTIFICATE: 'No required SSL certificate was sent',
  BAD_CERTIFICATE: 'The SSL certificate error',
};

/** Why nginx refuses the request, or undefined when it may pass to the API. */
export function secapiRefusal(req: IncomingMessage, mchid: string): SecapiRefusal | undefined {
  const socket = req.socket;
  if (!(socket instanceof TLSSocket)) return 'NO_CERTIFICATE';
  const certificate = socket.getPeerCertificate();
  if (certificate === null || Object.keys(certificate).length === 0) return 'NO_CERTIFICATE';
  // `authorized`: the chain verifies against the simulator's CA, the only one the server trusts.
  if (!socket.authorized) return 'BAD_CERTIFICATE';
  const commonName = certificate.subject?.CN;
  const names = Array.isArray(commonName) ? commonName : [commonName];
  return names.length === 1 && names[0] === mchid ? undefined : 'BAD_CERTIFICATE';
}

/** nginx's error page, as WeChat sends it (text/html, HTTP 400). */
export function nginxRefusalPage(refusal: SecapiRefusal): string {
  const message = MESSAGES[refusal];
  return (
    '<html>\r\n' +
    `<head><title>400 ${message}</title></head>\r\n` +
    '<body>\r\n' +
    '<center><h1>400 Bad Request</h1></center>\r\n' +
    `<center>${message}</center>\r\n` +
    '<hr><center>nginx</center>\r\n' +
    '</body>\r\n' +
    '</html>\r\n'
  );
}
