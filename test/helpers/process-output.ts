/**
 * What this process writes to stdout and stderr while a capture runs: the handlers' own log lines
 * (Powertools writes them there, as in Lambda) for tests that check what a log may never hold. Every
 * write still goes through.
 */
export interface ProcessOutput {
  /** Everything written since the capture started. */
  text(): string;
  /** Puts the streams' own write back. */
  stop(): void;
}

type Write = typeof process.stdout.write;

export function captureProcessOutput(): ProcessOutput {
  const chunks: string[] = [];
  const streams = [process.stdout, process.stderr];
  const originals = streams.map((stream) => stream.write);
  streams.forEach((stream, i) => {
    const original = originals[i] as Write;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
      return (original as (...args: unknown[]) => boolean).call(stream, chunk, ...rest);
    }) as Write;
  });
  return {
    text: () => chunks.join(''),
    stop: () => {
      streams.forEach((stream, i) => {
        stream.write = originals[i] as Write;
      });
    },
  };
}
