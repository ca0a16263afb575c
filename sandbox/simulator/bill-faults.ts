import * as z from 'zod';

/**
 * Per-day switches that make a day's trade bill misbehave as WeChat's can: not generated yet
 * (`creating`), altered on the way (`tamper`), or holding a payment the merchant never heard of
 * (`unknown_payment`, which is a real paid trade of the simulator's: see bill-control.ts). Kept in
 * memory only, like the other fault switches.
 */

/** 6 to 32 characters, so that both API versions can query it (v3 asks at least 6). */
const UNKNOWN_OUT_TRADE_NO = /^[0-9A-Za-z_\-|*]{6,32}$/;

/** The body of POST /sandbox/bills/{bill_date}/faults: the day's faults, replacing the old ones. */
export const billFaultsRequestSchema = z
  .object({
    creating: z.boolean().optional(),
    tamper: z.boolean().optional(),
    unknown_payment: z
      .object({
        out_trade_no: z.string().regex(UNKNOWN_OUT_TRADE_NO, '6 to 32 of 0-9 A-Z a-z _ - | *').optional(),
        total: z.number().int().positive().max(2_147_483_647),
      })
      .strict()
      .optional(),
  })
  .strict();
export type BillFaultsRequest = z.infer<typeof billFaultsRequestSchema>;

/** The payment the unknown_payment fault made: a paid trade of the simulator's. */
export interface UnknownPayment {
  outTradeNo: string;
  transactionId: string;
  total: number;
}

export interface DayBillFaults {
  creating: boolean;
  tamper: boolean;
  unknownPayment?: UnknownPayment;
}

export const NO_BILL_FAULTS: DayBillFaults = { creating: false, tamper: false };

export class BillFaults {
  private readonly days = new Map<string, DayBillFaults>();

  of(billDate: string): DayBillFaults {
    return this.days.get(billDate) ?? NO_BILL_FAULTS;
  }

  replace(billDate: string, faults: DayBillFaults): void {
    if (!faults.creating && !faults.tamper && faults.unknownPayment === undefined) this.days.delete(billDate);
    else this.days.set(billDate, faults);
  }
}

/** The day's faults as the control API shows them. */
export function billFaultsView(billDate: string, faults: DayBillFaults): Record<string, unknown> {
  const unknown = faults.unknownPayment;
  return {
    bill_date: billDate,
    creating: faults.creating,
    tamper: faults.tamper,
    unknown_payment:
      unknown === undefined
        ? null
        : { out_trade_no: unknown.outTradeNo, transaction_id: unknown.transactionId, total: unknown.total },
  };
}
