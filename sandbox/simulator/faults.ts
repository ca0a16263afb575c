import * as z from 'zod';

/**
 * Switches that make the simulator misbehave the way WeChat Pay and networks do, for one order or
 * for all. A setting for an order wins over the global one for that switch.
 */

export const notifyFaultSchema = z.enum(['deliver', 'drop', 'duplicate', 'delay', 'corrupt_sign', 'change_amount']);
export type NotifyFault = z.infer<typeof notifyFaultSchema>;

export const apiFaultSchema = z.enum(['ok', 'systemerror', 'http500', 'timeout', 'stale_query', 'notenough']);
export type ApiFault = z.infer<typeof apiFaultSchema>;

/**
 * What an API call does, for faults that touch only some calls: "stale_query" lags order queries
 * behind a payment while close (and everything else) still sees the truth; "notenough" (the
 * merchant's balance cannot cover a refund) is about refund applications only.
 */
export type ApiCallKind = 'query' | 'refund' | 'other';

export const faultRequestSchema = z
  .object({
    notify: notifyFaultSchema.optional(),
    api: apiFaultSchema.optional(),
    out_trade_no: z.string().min(1).max(32).optional(),
    /** How many API calls the api fault applies to before it switches itself back to "ok". */
    times: z.number().int().positive().optional(),
  })
  .strict()
  .refine((f) => f.notify !== undefined || f.api !== undefined, { message: 'give "notify" or "api" (or both)' })
  .refine((f) => f.times === undefined || (f.api !== undefined && f.api !== 'ok'), {
    message: '"times" counts API calls, so it needs an "api" fault other than "ok"',
    path: ['times'],
  });
export type FaultRequest = z.infer<typeof faultRequestSchema>;

interface FaultSetting {
  notify?: NotifyFault;
  api?: ApiFault;
  /** Calls left before `api` clears itself; unlimited when absent. */
  apiCallsLeft?: number;
}

export interface FaultSnapshot {
  global: FaultSetting;
  orders: Record<string, FaultSetting>;
}

export class FaultRegistry {
  private global: FaultSetting = {};
  private readonly perOrder = new Map<string, FaultSetting>();

  set(request: FaultRequest): void {
    const key = request.out_trade_no;
    const current = key === undefined ? this.global : (this.perOrder.get(key) ?? {});
    const next: FaultSetting = { ...current };
    if (request.notify !== undefined) next.notify = request.notify;
    if (request.api !== undefined) {
      next.api = request.api;
      next.apiCallsLeft = request.times;
    }
    if (key === undefined) this.global = next;
    else this.perOrder.set(key, next);
  }

  clear(): void {
    this.global = {};
    this.perOrder.clear();
  }

  notifyFaultFor(outTradeNo: string): NotifyFault {
    return this.perOrder.get(outTradeNo)?.notify ?? this.global.notify ?? 'deliver';
  }

  /**
   * The fault for one API call, counting it against "times". "stale_query" applies to (and is
   * counted by) queries only, "notenough" refund applications only; any other call goes through
   * untouched while one is set.
   */
  takeApiFault(outTradeNo: string | undefined, call: ApiCallKind = 'other'): ApiFault {
    const own = outTradeNo === undefined ? undefined : this.perOrder.get(outTradeNo);
    const setting = own?.api !== undefined ? own : this.global;
    const fault = setting.api ?? 'ok';
    if (fault === 'stale_query' && call !== 'query') return 'ok';
    if (fault === 'notenough' && call !== 'refund') return 'ok';
    if (fault !== 'ok' && setting.apiCallsLeft !== undefined) {
      setting.apiCallsLeft -= 1;
      // Spent: fall back to whatever applies underneath (the global switch, or "ok").
      if (setting.apiCallsLeft <= 0) {
        delete setting.api;
        delete setting.apiCallsLeft;
      }
    }
    return fault;
  }

  snapshot(): FaultSnapshot {
    return {
      global: { ...this.global },
      orders: Object.fromEntries([...this.perOrder].map(([k, v]) => [k, { ...v }])),
    };
  }
}
