import { format } from 'node:util';

/**
 * What this process prints while a capture runs: writes to stdout and stderr (the handlers' own log
 * lines: Powertools writes them there, as in Lambda) and calls of the global console (which the test
 * runner takes over before they reach stdout), for tests that check what a log may never hold. Every
 * line still goes where it went.
 */
export interface ProcessOutput {
  /** Everything printed since the capture started. */
  text(): string;
  /** Puts the streams' and the console's own methods back. */
  stop(): void;
}

type Write = typeof process.stdout.write;
const CONSOLE_METHODS = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;

export function captureProcessOutput(): ProcessOutput {
  const chunks: string[] = [];
  const streams = [process.stdout, process.stderr];
  const writes = streams.map((stream) => stream.write);
  streams.forEach((stream, i) => {
    const original = writes[i] as Write;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
      return (original as (...args: unknown[]) => boolean).call(stream, chunk, ...rest);
    }) as Write;
  });
  const consoleMethods = CONSOLE_METHODS.map((name) => console[name]);
  CONSOLE_METHODS.forEach((name, i) => {
    const original = consoleMethods[i] as (...args: unknown[]) => void;
    console[name] = (...args: unknown[]) => {
      chunks.push(`${format(...args)}\n`);
      original.apply(console, args);
    };
  });
  return {
    text: () => chunks.join(''),
    stop: () => {
      streams.forEach((stream, i) => {
        stream.write = writes[i] as Write;
      });
      CONSOLE_METHODS.forEach((name, i) => {
        console[name] = consoleMethods[i] as (...args: unknown[]) => void;
      });
    },
  };
}
