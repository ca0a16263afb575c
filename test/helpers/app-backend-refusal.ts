import { expect } from 'vitest';

import { AppBackendError } from '#shared/client/app-backend-error';

/** The AppBackendError a client call rejects with; fails the test when it resolves or rejects with anything else. */
export async function refusalOf(call: Promise<unknown>): Promise<AppBackendError> {
  const outcome = await call.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected a refusal, got ${JSON.stringify(outcome.value)}`);
  expect(outcome.error).toBeInstanceOf(AppBackendError);
  return outcome.error as AppBackendError;
}
