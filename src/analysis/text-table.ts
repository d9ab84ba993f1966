// Plain-text tables for the terminal and for Markdown reports: a header row, a rule, padded columns; cells that
// read as numbers (or n/a) are right-aligned.

const NUMERIC = /^(n\/a|[-+]?[\d.]+(e[-+]?\d+)?%?( ± [\d.]+%?)?)$/i;

export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? "").length)));
  const line = (cells: readonly string[], header = false) =>
    "| " +
    widths
      .map((w, c) => {
        const cell = cells[c] ?? "";
        return !header && NUMERIC.test(cell) ? cell.padStart(w) : cell.padEnd(w);
      })
      .join(" | ") +
    " |";
  const rule = "|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|";
  return [line(headers, true), rule, ...rows.map((r) => line(r))].join("\n");
}

/** A share as a percentage with `digits` decimals, "n/a" for null. */
export function percent(value: number | null, digits = 2): string {
  return value === null ? "n/a" : `${(100 * value).toFixed(digits)}%`;
}
