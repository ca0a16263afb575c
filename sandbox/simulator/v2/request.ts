import type { IncomingMessage } from 'node:http';
import { parseXml } from '#shared/wechatpay/v2/xml';
import { BodyTooLargeError, readBody } from '../http-io';
import { withoutEmpty } from './params';

/** WeChat's requests are a few hundred bytes; detail (6000) is the largest field. */
const MAX_REQUEST_BYTES = 32 * 1024;

/**
 * A v2 request read as WeChat reads it: POST only, a body of at most 32 KiB that is XML. A failure is
 * the return_msg of WeChat's unsigned refusal.
 */
export async function receiveV2Request(
  req: IncomingMessage,
): Promise<{ raw: string; params: Record<string, string> } | { failure: string }> {
  if (req.method !== 'POST') return { failure: '请使用post方法 (POST only)' };
  let raw: string;
  try {
    raw = await readBody(req, MAX_REQUEST_BYTES);
  } catch (err) {
    if (err instanceof BodyTooLargeError) {
      return { failure: `XML格式错误 (larger than ${MAX_REQUEST_BYTES} bytes)` };
    }
    throw err;
  }
  if (raw.trim() === '') return { failure: 'post数据为空 (empty body)' };
  try {
    return { raw, params: withoutEmpty(parseXml(raw)) };
  } catch (err) {
    return { failure: `XML格式错误 (${(err as Error).message})` };
  }
}
