import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { LocalSettingsError } from '#sandbox/local/local-settings';
import { localWebhookSecret, WEBHOOK_SECRET_FILE } from '#sandbox/local/webhook-secret-file';
import { parseWebhookSecret } from '#shared/webhooks/webhook-secret';

describe('localWebhookSecret', () => {
  const root = mkdtempSync(join(tmpdir(), 'webhook-secret-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('generates a whsec_ secret once, keeps it owner-only in the data directory, and reads it back', () => {
    const dataDir = join(root, 'a');
    const first = localWebhookSecret(dataDir);
    expect(first.path).toBe(join(dataDir, WEBHOOK_SECRET_FILE));
    expect(parseWebhookSecret(first.secret)).toHaveLength(32);
    // The file is what a receiver reads: the secret and a newline.
    expect(readFileSync(first.path, 'utf8')).toBe(`${first.secret}\n`);
    expect(statSync(first.path).mode & 0o777).toBe(0o600);
    expect(localWebhookSecret(dataDir)).toEqual(first);
  });

  it('stops on a file that does not hold a secret, naming the file, not its content', () => {
    const dataDir = join(root, 'b');
    localWebhookSecret(dataDir);
    writeFileSync(join(dataDir, WEBHOOK_SECRET_FILE), 'not-a-secret-value\n');
    let error: unknown;
    try {
      localWebhookSecret(dataDir);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(LocalSettingsError);
    expect((error as Error).message).toContain(join(dataDir, WEBHOOK_SECRET_FILE));
    expect((error as Error).message).not.toContain('not-a-secret-value');
  });
});
