// A sweep's summary for the terminal and for Markdown: per group of grid points (all but the seed), a table of the
// models' means with their 95% intervals over the seeds, then the paired differences the paper's claims rest on.
import { formatTable, type MeanInterval } from "../analysis/index.js";
import type { SweepComparison, SweepGroup, SweepSummary } from "./sweep-results.js";

/** `86.40% [85.10, 87.70]`, or the single run's value alone. */
function showInterval(i: MeanInterval | null, scale: number, unit: string, signed = false): string {
  if (i === null) return "n/a";
  const f = (x: number) => `${signed && x >= 0 ? "+" : ""}${(scale * x).toFixed(2)}`;
  return i.low === null || i.high === null ? `${f(i.mean)}${unit}` : `${f(i.mean)}${unit} [${f(i.low)}, ${f(i.high)}]`;
}

const METRIC_TEXT: Record<SweepComparison["metric"], { name: string; scale: number; unit: string }> = {
  accuracy: { name: "accuracy", scale: 100, unit: " points" },
  tar: { name: "TAR", scale: 100, unit: " points" },
  intrinsicDimension: { name: "TwoNN ID", scale: 1, unit: "" },
};

/** Whether an interval lies wholly on one side of zero: what "significant at 95%" means here. */
function verdict(d: MeanInterval): string {
  if (d.low === null || d.high === null) return "one seed: no interval";
  if (d.low > 0) return "above zero";
  if (d.high < 0) return "below zero";
  return "includes zero";
}

function groupTitle(group: SweepGroup): string {
  const values = Object.entries(group.values).map(([k, v]) => `${k}=${String(v)}`);
  const seeds = `${group.seeds.length} seed${group.seeds.length === 1 ? "" : "s"} (${group.seeds.join(", ")})`;
  return [...values, seeds].join(", ");
}

function groupText(summary: SweepSummary, group: SweepGroup): string {
  const headers = ["model", "architecture", "params", "MFLOPs"];
  if (summary.set !== null) headers.push(`${summary.set} accuracy`);
  if (summary.far !== null) headers.push(`TAR@FAR=${summary.far}`);
  headers.push("ID (TwoNN)");
  const rows = group.models.map((m) => [
    m.label,
    m.architecture,
    `${(m.parameters / 1e6).toFixed(2)}M`,
    m.flops === null ? "n/a" : (m.flops / 1e6).toFixed(1),
    ...(summary.set === null ? [] : [showInterval(m.accuracy, 100, "%")]),
    ...(summary.far === null ? [] : [showInterval(m.tar, 100, "%")]),
    showInterval(m.intrinsicDimension, 1, ""),
  ]);
  const differences = group.comparisons.map((c) => {
    const t = METRIC_TEXT[c.metric];
    const perSeed = c.perSeed.map((p) => `${p.a - p.b >= 0 ? "+" : ""}${(t.scale * (p.a - p.b)).toFixed(2)}`);
    return (
      `- ${c.label}, ${t.name}: ${showInterval(c.difference, t.scale, t.unit, true)} (${verdict(c.difference)}; ` +
      `per seed ${perSeed.join(", ")})`
    );
  });
  return [
    groupTitle(group),
    formatTable(headers, rows),
    ...(differences.length > 0 ? ["paired differences, mean [95% CI] over seeds:", ...differences] : []),
  ].join("\n");
}

export function formatSweepSummary(summary: SweepSummary): string {
  return summary.groups.map((g) => groupText(summary, g)).join("\n\n");
}
