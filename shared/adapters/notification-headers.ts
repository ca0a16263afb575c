/** The named headers of a notification that are present, or undefined when none is. */
export function pickHeaders(
  headers: Record<string, string>,
  names: readonly string[],
): Record<string, string> | undefined {
  const kept = names.flatMap((name) => {
    const value = headers[name];
    return value === undefined ? [] : [[name, value] as const];
  });
  return kept.length > 0 ? Object.fromEntries(kept) : undefined;
}
