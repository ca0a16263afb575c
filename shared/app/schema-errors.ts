import type * as z from 'zod';

import { ValidationError } from '../domain/errors';

/**
 * The first problem zod found in a request body, as the 400 the API answers: the field named by its
 * dotted path (`amount.refund`), an unknown field by its own name.
 */
export function validationErrorOf(error: z.ZodError): ValidationError {
  const issue = error.issues[0];
  if (issue?.code === 'unrecognized_keys') {
    const field = [...issue.path, issue.keys[0]].join('.');
    return new ValidationError(`${field} is not a known field`, field);
  }
  const field = issue?.path.join('.') || undefined;
  return new ValidationError(field ? `${field} ${issue?.message}` : (issue?.message ?? 'invalid request'), field);
}
