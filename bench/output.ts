/**
 * The bench's own output, kept apart from everything else the process prints. The handlers run
 * in-process and log as they would in Lambda (Powertools writes JSON lines to stdout and warnings
 * to stderr); that output is counted (it is what CloudWatch Logs would ingest) and swallowed, or
 * echoed to stderr with --verbose, so stdout carries only the bench's table or its one JSON object.
 */

type Write = typeof process.stdout.write;

export interface OutputGuard {
  /** A progress line, on the real stderr. */
  progress(line: string): void;
  /** The result, on the real stdout. */
  result(text: string): void;
  /** Bytes others wrote to stdout and stderr since the guard was put up. */
  capturedBytes(): number;
  restore(): void;
}

export function guardOutput(options: { verbose: boolean }): OutputGuard {
  const originalOut = process.stdout.write;
  const originalErr = process.stderr.write;
  const realOut = originalOut.bind(process.stdout) as Write;
  const realErr = originalErr.bind(process.stderr) as Write;
  let captured = 0;
  const capture = (chunk: unknown, encoding?: unknown, callback?: unknown): boolean => {
    const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk : String(chunk);
    captured +=
      typeof text === 'string'
        ? Buffer.byteLength(text, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8')
        : text.length;
    if (options.verbose) realErr(text);
    const done = typeof encoding === 'function' ? encoding : callback;
    if (typeof done === 'function') queueMicrotask(() => (done as () => void)());
    return true;
  };
  process.stdout.write = capture as Write;
  process.stderr.write = capture as Write;
  return {
    progress: (line) => void realErr(`${line}\n`),
    result: (text) => void realOut(text.endsWith('\n') ? text : `${text}\n`),
    capturedBytes: () => captured,
    restore: () => {
      process.stdout.write = originalOut;
      process.stderr.write = originalErr;
    },
  };
}
