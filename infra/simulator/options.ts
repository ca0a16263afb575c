import { z } from 'zod';
import { ValidationError } from '../../shared/domain/errors';
import type { Clock } from './clock';

const isFunction = (v: unknown): boolean => typeof v === 'function';

export const simulatorOptionsSchema = z
  .object({
    /** Loopback only: the simulator is for this machine. */
    host: z.literal('127.0.0.1').default('127.0.0.1'),
    /** 0 picks a free port. */
    port: z.number().int().min(0).max(65535).default(0),
    merchant: z
      .object({
        appid: z.string().regex(/^[A-Za-z0-9_]{1,32}$/, 'appid: 1 to 32 letters, digits or _'),
        mchid: z.string().regex(/^[0-9]{1,32}$/, 'mchid: 1 to 32 digits'),
        // Never echo the key back in an error message.
        apiKey: z.string().regex(/^[A-Za-z0-9]{32}$/, 'apiKey: the APIv2 key is 32 letters or digits'),
      })
      .strict(),
    /** Divides every WeChat duration (retry schedule, close minimum, prepay validity, time_expire). */
    timeScale: z.number().positive().max(1_000_000).default(1),
    /** Where state.json lives; in memory when absent. */
    dataDir: z.string().min(1).optional(),
    log: z.custom<(line: string) => void>(isFunction, 'log must be a function').optional(),
    /** A notification reply slower than this is a failed attempt. Real time, not scaled (WeChat: 5 s). */
    notifyReplyTimeoutMs: z.number().int().positive().default(5000),
    /** How long the "timeout" API fault holds a reply. Real time, not scaled. */
    apiTimeoutHoldMs: z.number().int().positive().default(6000),
    /** Time and timers; the real clock unless a test brings its own. */
    clock: z.custom<Clock>((v) => typeof v === 'object' && v !== null && isFunction((v as Clock).now), 'clock must be a Clock').optional(),
  })
  .strict();

export type SimulatorOptions = z.input<typeof simulatorOptionsSchema>;
export type ResolvedOptions = z.output<typeof simulatorOptionsSchema>;

/** Checks the configuration before anything starts; a bad one fails loudly, naming the field. */
export function resolveOptions(options: SimulatorOptions): ResolvedOptions {
  const parsed = simulatorOptionsSchema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.');
    throw new ValidationError(`invalid simulator options: ${field ? `${field}: ` : ''}${issue?.message ?? 'invalid'}`, field);
  }
  return parsed.data;
}
