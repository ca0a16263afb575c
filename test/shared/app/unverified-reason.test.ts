import { describe, expect, it } from 'vitest';

import { unverifiedReasonOf } from '#shared/app/unverified-reason';
import { UNVERIFIED_REASONS } from '#shared/domain/ports';
import { parseV2Notification } from '#shared/wechatpay/v2/notification';

const API_KEY = '0123456789abcdef0123456789abcdef';

describe('unverifiedReasonOf', () => {
  it.each([
    ['body larger than 65536 bytes', 'TOO_LARGE'],
    ["unreadable notification: malformed XML: char 'g' is not expected.:1:1", 'UNREADABLE'],
    ['not a v3 notification envelope: id: expected string', 'UNREADABLE'],
    ['notification is not signed', 'UNSIGNED'],
    ['signature refused (missing_headers): Wechatpay-Signature missing', 'UNSIGNED'],
    ['signature refused (unknown_serial): no key for PUB_KEY_ID_1', 'UNKNOWN_KEY'],
    ['signature refused (stale_timestamp): 400 s old', 'STALE_TIMESTAMP'],
    ['signature refused (bad_signature): does not verify', 'BAD_SIGNATURE'],
    ['signature refused (probe): WECHATPAY/SIGNTEST/', 'BAD_SIGNATURE'],
    ['notification signature does not verify', 'BAD_SIGNATURE'],
    ['resource not decrypted: Unsupported state or unable to authenticate data', 'UNDECRYPTABLE'],
    ['not verified within the time budget', 'UNVERIFIED'],
    ['result_code FAIL', 'INVALID_CONTENT'],
    ['anything else', 'INVALID_CONTENT'],
  ])('%s → %s', (reason, code) => {
    expect(unverifiedReasonOf(reason)).toBe(code);
    expect(UNVERIFIED_REASONS).toContain(code);
  });

  it('cannot be steered by what the sender wrote, which the codec may quote', () => {
    const tags = `<xml>${['signature', 'probe', 'unknown_serial', 'larger'].map((t) => `<${t}>`).join('')}`;
    const parsed = parseV2Notification(tags, API_KEY);
    expect(parsed).toMatchObject({ ok: false, reason: expect.stringContaining('signature') });
    expect(unverifiedReasonOf(parsed.ok ? '' : parsed.reason)).toBe('UNREADABLE');
  });
});
