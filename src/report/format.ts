// Text for the report: HTML escaping and the number formats of its tables.

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Text made safe for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** 1.75 M, 245.1 k, 812. */
export function formatCount(n: number): string {
  if (Math.abs(n) >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (Math.abs(n) >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return String(Math.round(n));
}

/** Three significant digits at most, without exponent: 1234, 44.1, 0.52. */
export function formatShort(n: number): string {
  const a = Math.abs(n);
  return n.toFixed(a >= 100 ? 0 : a >= 10 ? 1 : 2);
}

/** A 0..1 rate as percent: 99.12. */
export function formatPercent(rate: number): string {
  return (rate * 100).toFixed(2);
}

/** The spread of a verification accuracy: its 95% interval over the folds, `[84.10, 87.10]` (percent), or
 *  `± 1.58` (the folds' std) in results of older runs without one. */
export function accuracySpread(v: { accuracyStd: number; accuracyInterval?: { low: number; high: number } }): string {
  const i = v.accuracyInterval;
  return i ? `[${formatPercent(i.low)}, ${formatPercent(i.high)}]` : `± ${formatPercent(v.accuracyStd)}`;
}

/** 1e-3 */
export function formatFar(far: number): string {
  return far.toExponential(0);
}

/** 12.3 s, 4 min 05 s, 2 h 03 min. */
export function formatSeconds(s: number): string {
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(Math.round(s) / 60);
  if (m < 60) return `${m} min ${String(Math.round(s) % 60).padStart(2, "0")} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, "0")} min`;
}
