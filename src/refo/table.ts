// The run's results as a text table: one row per model, the first verification set's accuracy and TARs.
import { formatTable, percent } from "../analysis/index.js";
import { distillationErrorAt, distillationGammas, type RunResults } from "../report/index.js";

const FARS = [1e-3, 1e-2];

export function formatResultsTable(results: RunResults): string {
  const set = Object.keys(results.models[0]?.verification ?? {})[0];
  const gammas = distillationGammas(results.models);
  const headers = [
    "model",
    "architecture",
    "params",
    "MFLOPs",
    "img/s",
    "ID (TwoNN)",
    ...gammas.map((g) => `Φ γ=${g}`),
  ];
  if (set !== undefined) headers.push(`${set} accuracy`, ...FARS.map((f) => `TAR@FAR=${f}`));
  const rows = results.models.map((m) => {
    const v = set === undefined ? undefined : m.verification[set];
    const id = m.intrinsicDimension;
    return [
      m.label,
      m.architecture,
      `${(m.parameters / 1e6).toFixed(2)}M`,
      (m.flops / 1e6).toFixed(1),
      m.imagesPerSecond === null ? "n/a" : m.imagesPerSecond.toFixed(0),
      id === null ? "n/a" : `${id.mean.toFixed(2)} ± ${id.std.toFixed(2)}`,
      ...gammas.map((g) => distillationErrorAt(m, g)?.toFixed(4) ?? "n/a"),
      ...(v === undefined
        ? set === undefined
          ? []
          : ["n/a", ...FARS.map(() => "n/a")]
        : [
            `${percent(v.accuracy)} ± ${percent(v.accuracyStd)}`,
            ...FARS.map((far) => percent(v.tarAtFar.find((t) => t.far === far)?.tar ?? null)),
          ]),
    ];
  });
  return formatTable(headers, rows);
}
