import { pathToFileURL } from 'node:url';

/**
 * Runs `main` when the module at `moduleUrl` is the script node was started with (not when a test or
 * `npm run bench` imports it), then exits: servers and pools a bench opened must not keep it alive.
 * A failure is printed and exits 1.
 */
export function runIfEntryPoint(moduleUrl: string, main: () => Promise<void>): void {
  if (moduleUrl !== pathToFileURL(process.argv[1] ?? '').href) return;
  main().then(
    () => process.exit(process.exitCode ?? 0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
