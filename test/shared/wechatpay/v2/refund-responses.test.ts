import { describe, expect, it } from 'vitest';

import {
  V2_REFUND_STATUS_IN_V3,
  V2_REFUND_STATUSES,
  v2RefundTimeToRfc3339,
} from '#shared/wechatpay/v2/refund-responses';
import { V3_REFUND_STATUSES } from '#shared/wechatpay/v3/refund-responses';

describe('v2RefundTimeToRfc3339', () => {
  it('writes v2’s Beijing yyyy-MM-dd HH:mm:ss as RFC 3339 with +08:00', () => {
    expect(v2RefundTimeToRfc3339('2017-07-27 00:33:09')).toBe('2017-07-27T00:33:09+08:00');
    expect(Date.parse(v2RefundTimeToRfc3339('2026-01-01 07:59:59') ?? '')).toBe(Date.parse('2025-12-31T23:59:59Z'));
  });

  it.each(['2026-02-30 12:00:00', '2026-11-25 24:00:00', '20261125120000', '2026-11-25T12:00:00+08:00', ''])(
    'refuses %j',
    (text) => {
      expect(v2RefundTimeToRfc3339(text)).toBeUndefined();
    },
  );
});

describe('V2_REFUND_STATUS_IN_V3', () => {
  it('says each v2 refund_status in APIv3’s words: CHANGE is ABNORMAL, REFUNDCLOSE is CLOSED', () => {
    expect(V2_REFUND_STATUS_IN_V3).toEqual({
      SUCCESS: 'SUCCESS',
      REFUNDCLOSE: 'CLOSED',
      PROCESSING: 'PROCESSING',
      CHANGE: 'ABNORMAL',
    });
    expect(Object.keys(V2_REFUND_STATUS_IN_V3).sort()).toEqual([...V2_REFUND_STATUSES].sort());
    expect([...new Set(Object.values(V2_REFUND_STATUS_IN_V3))].sort()).toEqual([...V3_REFUND_STATUSES].sort());
  });
});
