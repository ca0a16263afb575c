/** The names this machine's loopback goes by; a Host header must be one of them with the server's port. */
const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];

/**
 * A DNS-rebinding defence: a web page whose name the attacker re-points at 127.0.0.1 can make the
 * browser send requests to a local server, but they carry the attacker's name in Host. Only the
 * loopback names with the server's port are served (the port may be left out only when it is 80, as
 * HTTP allows); `extraName` adds the name the server was told to listen on.
 */
export function isLoopbackHost(host: string | undefined, port: number, extraName?: string): boolean {
  if (host === undefined) return false;
  const names = extraName === undefined ? LOOPBACK_NAMES : [...LOOPBACK_NAMES, extraName.toLowerCase()];
  const value = host.toLowerCase();
  return names.some((name) => value === `${name}:${port}` || (port === 80 && value === name));
}
