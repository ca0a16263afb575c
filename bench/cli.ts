/** The bench's command line: `npm run bench -- [--json] [--quick] [--parts=1,3] [--verbose]`. */

export const PARTS = ['bundle', 'notify', 'signing', 'cost', 'latency', 'bill', 'refund', 'event'] as const;
export type Part = (typeof PARTS)[number];

export interface BenchOptions {
  /** Print one JSON object on stdout and nothing else. */
  json: boolean;
  /** Fewer runs and smaller loads: a minute or two instead of several. */
  quick: boolean;
  /** Echo the local stack's and handlers' own output to stderr (it is swallowed otherwise). */
  verbose: boolean;
  parts: Part[];
}

export class UsageError extends Error {
  override name = 'UsageError';
}

export const USAGE = `usage: npm run bench -- [--json] [--quick] [--verbose] [--parts=LIST]
  --json      print one JSON object on stdout (progress goes to stderr)
  --quick     fewer runs and a smaller load
  --verbose   show the local stack's own log lines on stderr
  --parts     comma-separated, by number or name: 1|bundle, 2|notify, 3|signing, 4|cost,
              5|latency, 6|bill, 7|refund, 8|event (default: all)`;

function partOf(token: string): Part {
  const byNumber = PARTS[Number(token) - 1];
  if (/^[1-9]$/.test(token) && byNumber !== undefined) return byNumber;
  const byName = PARTS.find((p) => p === token);
  if (byName === undefined) throw new UsageError(`unknown part "${token}"\n${USAGE}`);
  return byName;
}

export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  const options: BenchOptions = { json: false, quick: false, verbose: false, parts: [...PARTS] };
  for (const arg of argv) {
    if (arg === '--json') options.json = true;
    else if (arg === '--quick') options.quick = true;
    else if (arg === '--verbose') options.verbose = true;
    else if (arg.startsWith('--parts=')) {
      const tokens = arg
        .slice('--parts='.length)
        .split(',')
        .map((t) => t.trim())
        .filter((t) => t !== '');
      if (tokens.length === 0) throw new UsageError(`--parts needs at least one part\n${USAGE}`);
      const chosen = new Set(tokens.map(partOf));
      // Always in the bench's own order, whatever order they were named in.
      options.parts = PARTS.filter((p) => chosen.has(p));
    } else throw new UsageError(`unknown argument "${arg}"\n${USAGE}`);
  }
  return options;
}
