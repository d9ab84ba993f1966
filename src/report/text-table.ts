// The run's results as a text table for the terminal: one row per model, the first verification set's accuracy
// and the TARs at the FARs the HTML table shows, and the IJB-B/C TAR at its headline FAR.
import { formatTable, percent, withInterval } from "../analysis/index.js";
import { accuracySpread } from "./format.js";
import type { RunResults } from "./results.js";
import {
  distillationErrorAt,
  distillationGammas,
  ijbHeadlineFar,
  ijbTarAt,
  tableFars,
  tarAt,
  verificationSets,
} from "./tables.js";

export function formatResultsTable(results: RunResults): string {
  const set = verificationSets(results.models)[0];
  const fars = set === undefined ? [] : tableFars(results.models, set);
  const gammas = distillationGammas(results.models);
  const headers = [
    "model",
    "architecture",
    "params",
    "MFLOPs",
    "img/s",
    "ID (TwoNN) [95%]",
    ...gammas.map((g) => `Φ γ=${g}`),
  ];
  if (set !== undefined) headers.push(`${set} accuracy`, ...fars.map((f) => `TAR@FAR=${f}`));
  const ijbFar = ijbHeadlineFar(results.models);
  if (ijbFar !== undefined) headers.push(`${results.models.find((m) => m.ijb)!.ijb!.target} TAR@FAR=${ijbFar}`);
  const rows = results.models.map((m) => {
    const v = set === undefined ? undefined : m.verification[set];
    const id = m.intrinsicDimension;
    return [
      m.label,
      m.architecture,
      `${(m.parameters / 1e6).toFixed(2)}M`,
      m.flops === null ? "n/a" : (m.flops / 1e6).toFixed(1),
      m.imagesPerSecond === null ? "n/a" : m.imagesPerSecond.toFixed(0),
      id === null
        ? "n/a"
        : id.interval
          ? withInterval(id.mean, id.interval)
          : `${id.mean.toFixed(2)} ± ${id.std.toFixed(2)}`,
      ...gammas.map((g) => distillationErrorAt(m, g)?.toFixed(4) ?? "n/a"),
      ...(v === undefined
        ? set === undefined
          ? []
          : ["n/a", ...fars.map(() => "n/a")]
        : [`${percent(v.accuracy)} ${accuracySpread(v)}`, ...fars.map((far) => percent(tarAt(v, far) ?? null))]),
      ...(ijbFar === undefined ? [] : [percent(ijbTarAt(m, ijbFar) ?? null)]),
    ];
  });
  return formatTable(headers, rows);
}
