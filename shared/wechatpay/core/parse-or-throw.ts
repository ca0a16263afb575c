import type { z } from 'zod';
import { WechatPayValidationError } from './errors';

/** Parses `input` with `schema`, or throws a WechatPayValidationError naming the first offending field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  let field = issue && issue.path.length > 0 ? issue.path.map(String).join('.') : undefined;
  if (issue?.code === 'unrecognized_keys') field = [...issue.path.map(String), ...issue.keys.slice(0, 1)].join('.');
  const message = issue ? issue.message : 'invalid';
  throw new WechatPayValidationError(`${what}: ${field ? `${field}: ` : ''}${message}`, field, { cause: result.error });
}
