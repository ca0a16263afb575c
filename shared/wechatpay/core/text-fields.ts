/**
 * Rules for WeChat's free-text fields (description, attach, …), shared by our API's schema and the
 * v2 request schema so both refuse the same text. No XML parser here: the orders Lambda checks
 * requests at start-up without loading one.
 */

export const utf8Bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

/** Half of a UTF-16 pair without its other half: no character at all, and not encodable as UTF-8. */
export const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

// Control characters have no place in any field; some cannot even be carried by XML, nor can
// U+FFFE or U+FFFF.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const NOT_PLAIN = new RegExp(`${/[\u0000-\u001F\u007F\uFFFE\uFFFF]/.source}|${LONE_SURROGATE.source}`);

export function isPlainText(s: string): boolean {
  return !NOT_PLAIN.test(s);
}
