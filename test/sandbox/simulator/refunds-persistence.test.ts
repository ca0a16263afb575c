import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Clock } from '#sandbox/simulator/clock';
import { systemClock } from '#sandbox/simulator/clock';
import { startSimulator } from '#sandbox/simulator/server';
import {
  RawReceiver,
  paidOrder,
  readV2RefundNotification,
  refundParams,
  refundQuery,
  secapiRefund,
} from './refund-support';
import { MERCHANT, waitFor } from './support';

describe('refunds across a restart', () => {
  let dir: string;
  let receiver: RawReceiver;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sim-refunds-'));
    receiver = await RawReceiver.start();
  });
  afterEach(async () => {
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps refunds, answers the same refund again, and finishes a completion that fell due while down', async () => {
    let offset = 0;
    const clock: Clock = { ...systemClock, now: () => Date.now() + offset };
    const first = await startSimulator({ merchant: MERCHANT, dataDir: dir, clock });
    const { outTradeNo } = await paidOrder(first);
    const params = refundParams(outTradeNo, { notify_url: receiver.url });
    const accepted = await secapiRefund(first, params);
    expect((await refundQuery(first, { out_refund_no: params.out_refund_no as string })).fields.refund_status_0).toBe(
      'PROCESSING',
    );
    await first.close();
    expect(receiver.received).toHaveLength(0);

    // Two minutes later (the completion was due after one).
    offset = 120_000;
    const second = await startSimulator({ merchant: MERCHANT, dataDir: dir, clock });
    try {
      const [notification] = await waitFor(() => receiver.received.length > 0 && receiver.received);
      expect(readV2RefundNotification(notification?.body ?? '').info).toMatchObject({
        out_refund_no: params.out_refund_no,
        refund_status: 'SUCCESS',
      });
      const again = await secapiRefund(second, params);
      expect(again.fields.refund_id).toBe(accepted.fields.refund_id);
      const query = await refundQuery(second, { out_trade_no: outTradeNo });
      expect(query.fields).toMatchObject({ refund_count: '1', refund_status_0: 'SUCCESS' });
    } finally {
      await second.close();
    }
  });
});
