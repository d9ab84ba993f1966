// Deterministic release of native memory. tidy(fn) frees every tensor created while fn runs, except the
// tensors it returns (which move to the enclosing scope) and tensors passed to keep().

export interface Tracked {
  dispose(): void;
  readonly isDisposed: boolean;
  /** Called once the object is outside every scope, so that only the garbage collector would free it. */
  leftToGarbageCollector(): void;
}

const scopes: Set<Tracked>[] = [];

/** Called by every new tensor: it belongs to the innermost open scope, if any. */
export function track(t: Tracked): void {
  const scope = scopes[scopes.length - 1];
  if (scope) scope.add(t);
  else t.leftToGarbageCollector();
}

/** Removes a tensor from every open scope so that no scope end disposes it. Returns it. */
export function keep<T extends Tracked>(t: T): T {
  for (const scope of scopes) scope.delete(t);
  t.leftToGarbageCollector();
  return t;
}

function isTracked(value: object): value is Tracked {
  return typeof (value as Tracked).dispose === "function" && "isDisposed" in value;
}

// Finds the scope's tensors reachable from a result through arrays, Maps and plain objects.
function survivorsOf(value: unknown, scope: Set<Tracked>, out: Set<Tracked>, seen: Set<unknown>): void {
  if (value === null || typeof value !== "object" || seen.has(value)) return;
  seen.add(value);
  if (isTracked(value)) {
    if (scope.has(value)) out.add(value);
  } else if (Array.isArray(value)) {
    for (const v of value) survivorsOf(v, scope, out, seen);
  } else if (value instanceof Map) {
    for (const v of value.values()) survivorsOf(v, scope, out, seen);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) survivorsOf(v, scope, out, seen);
  }
}

/**
 * Runs fn and disposes every tensor created during it, except those reachable from its result through
 * arrays, Maps and plain objects: those are handed to the enclosing scope. fn must be synchronous. If fn
 * throws, everything it created is disposed.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tracked>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
    if (result instanceof Promise) {
      throw new TypeError("tidy() needs a synchronous function: an async one would outlive its scope");
    }
  } catch (error) {
    scopes.pop();
    for (const t of scope) t.dispose();
    throw error;
  }
  scopes.pop();
  const survivors = new Set<Tracked>();
  survivorsOf(result, scope, survivors, new Set());
  for (const t of scope) if (!survivors.has(t)) t.dispose();
  for (const t of survivors) track(t);
  return result;
}

/** The number of tensors tracked by open scopes (for tests and leak hunting). */
export function trackedCount(): number {
  return scopes.reduce((n, s) => n + s.size, 0);
}
