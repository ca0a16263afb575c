import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

import * as z from 'zod';

import type { StreamCheckpoint } from './dynamodb-stream-source';

/**
 * The file under the data directory where the local stack keeps how far it has read the table's
 * stream, so a restart of `npm start` goes on from there instead of handing the events function the
 * last 24 hours again (and the merchant every webhook of them). DynamoDB Local keeps the stream, its
 * shards and their sequence numbers in the same data directory, so the positions stay meaningful.
 */
export const STREAM_POSITIONS_FILE = 'dynamodb-stream-positions.json';

const positionsSchema = z.object({
  streamArn: z.string().min(1),
  /** The last record handled, by shard id. */
  shards: z.record(z.string(), z.string().regex(/^\d+$/)),
});

/**
 * A checkpoint kept in `path`. Positions of another stream (the table was made again) and a file that
 * cannot be read as positions count as none: the stream is then read from its trim horizon, which
 * may repeat events (the consumer is idempotent by event id) but never skips one.
 */
export function streamPositionsFile(path: string): StreamCheckpoint {
  return {
    load(streamArn) {
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
        throw error;
      }
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        return {};
      }
      const parsed = positionsSchema.safeParse(json);
      return parsed.success && parsed.data.streamArn === streamArn ? parsed.data.shards : {};
    },
    save(streamArn, shards) {
      // Written aside and renamed into place: a stop in the middle leaves the old file or the new one.
      mkdirSync(dirname(path), { recursive: true });
      const temporary = `${path}.${process.pid}.tmp`;
      writeFileSync(temporary, `${JSON.stringify({ streamArn, shards }, null, 2)}\n`, { mode: 0o600 });
      renameSync(temporary, path);
    },
  };
}
