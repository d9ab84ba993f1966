// Dotted config keys (`refo.beta1`) as the command line, overrides and sweeps name them.

/** Sets `dotted` in `data`, creating the objects on the way; undefined removes the key. */
export function setDottedKey(data: Record<string, unknown>, dotted: string, value: unknown): void {
  const parts = dotted.split(".");
  const last = parts.pop()!;
  let target = data;
  for (const part of parts) {
    if (typeof target[part] !== "object" || target[part] === null) target[part] = {}; // lists stay lists
    target = target[part] as Record<string, unknown>;
  }
  if (value === undefined) delete target[last];
  else target[last] = value;
}
