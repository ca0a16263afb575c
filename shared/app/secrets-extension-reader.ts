import { request } from 'node:http';

import * as z from 'zod';

import type { SecretReader } from './merchant-secret';

/**
 * Reads a secret through the AWS Parameters and Secrets Lambda Extension: a GET to the extension's
 * HTTP server on the Lambda's loopback (`/secretsmanager/get?secretId=…`, authenticated by the
 * execution environment's session token), which calls GetSecretValue and answers its JSON. The
 * function then loads no Secrets Manager client of its own (bench part 1: less to start).
 *
 * The stack turns the extension's cache off: a reload() after a rotation must reach Secrets Manager,
 * not a copy up to 5 minutes old (MerchantCredentialsSource does the caching).
 *
 * The same budget as the SDK reader's: each attempt bounded as a whole (connection included), two
 * attempts, the second only after a failure that may pass (no answer, a timeout, a 5xx); a refusal
 * (4xx: a bad token, no such secret, access denied) is final. Errors name the secret's id and the
 * status, never the value.
 */

export interface SecretsExtensionReaderOptions {
  /** PARAMETERS_SECRETS_EXTENSION_HTTP_PORT, which the stack sets with the layer. */
  port: number;
  /** AWS_SESSION_TOKEN: the extension refuses a request without the environment's own. */
  sessionToken: string;
  /** Per attempt; SECRET_READ_TIMEOUT_MS unless a test needs it shorter. */
  timeoutMs: number;
  /** Loopback only; a test may give 127.0.0.1 where localhost resolves elsewhere first. */
  host?: string;
}

export const SECRETS_EXTENSION_MAX_ATTEMPTS = 2;

/** What GetSecretValue answers, as far as we read it: a binary secret has no SecretString. */
const GetSecretValueAnswer = z.object({ SecretString: z.string().optional() });

/** A read the extension refused or could not answer; `retryable` when another attempt may succeed. */
export class SecretsExtensionError extends Error {
  override readonly name = 'SecretsExtensionError';

  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

export function secretsExtensionReader(options: SecretsExtensionReaderOptions): SecretReader {
  return async (secretId) => {
    let lastError: unknown;
    for (let attempt = 1; attempt <= SECRETS_EXTENSION_MAX_ATTEMPTS; attempt++) {
      try {
        return await readOnce(secretId, options);
      } catch (error) {
        lastError = error;
        if (error instanceof SecretsExtensionError && !error.retryable) break;
      }
    }
    throw lastError;
  };
}

function readOnce(secretId: string, options: SecretsExtensionReaderOptions): Promise<string | undefined> {
  const path = `/secretsmanager/get?secretId=${encodeURIComponent(secretId)}`;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: options.host ?? 'localhost',
        port: options.port,
        path,
        method: 'GET',
        headers: { 'X-Aws-Parameters-Secrets-Token': options.sessionToken },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const body = Buffer.concat(chunks).toString('utf8');
          if (status !== 200) {
            // An error answer is the extension's or Secrets Manager's message, which carries no value.
            const detail = body.trim().slice(0, 200);
            reject(
              new SecretsExtensionError(
                `the secrets extension answered ${status} for ${secretId}${detail === '' ? '' : `: ${detail}`}`,
                // Secrets Manager's throttling comes back as a 400 naming ThrottlingException: worth a retry.
                status >= 500 || status === 429 || (status === 400 && body.includes('ThrottlingException')),
              ),
            );
            return;
          }
          let parsed: unknown;
          try {
            parsed = JSON.parse(body);
          } catch {
            reject(new SecretsExtensionError(`the secrets extension's answer for ${secretId} is not JSON`, false));
            return;
          }
          const answer = GetSecretValueAnswer.safeParse(parsed);
          if (!answer.success) {
            reject(
              new SecretsExtensionError(
                `the secrets extension's answer for ${secretId} has no SecretString text`,
                false,
              ),
            );
            return;
          }
          resolve(answer.data.SecretString);
        });
      },
    );
    // One bound for the whole attempt: connecting, waiting, reading.
    const timer = setTimeout(() => {
      req.destroy(
        new SecretsExtensionError(
          `the secrets extension did not answer for ${secretId} within ${options.timeoutMs} ms`,
          true,
        ),
      );
    }, options.timeoutMs);
    req.on('error', (error) => {
      reject(
        error instanceof SecretsExtensionError
          ? error
          : new SecretsExtensionError(
              `the secrets extension could not be reached for ${secretId}: ${error.message}`,
              true,
            ),
      );
    });
    req.on('close', () => clearTimeout(timer));
    req.end();
  });
}
