// Parsers for numeric command-line options, with errors naming the option.
export function integerOption(name: string, min: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got '${value}'`);
    return n;
  };
}

/** Collects a repeatable option's values. */
export const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** A parser for an option that takes one of `values`. */
export const choice =
  <T extends string>(name: string, values: readonly T[]) =>
  (value: string): T => {
    if (!values.includes(value as T)) throw new Error(`--${name} must be ${values.join(" or ")}, got '${value}'`);
    return value as T;
  };
