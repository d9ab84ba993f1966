// Result tables for the terminal and reports, percentages as papers print them.
import { formatTable, percent } from "../analysis/text-table.js";
import type { IdentificationResult } from "./identification.js";
import type { PairProtocolResult } from "./pairs.js";
import type { RocSummary } from "./roc.js";

const farLabel = (far: number) => far.toExponential(0);

/** One row per pair-protocol run (LFW, CFP-FP, ...): accuracy +- std, VAL@FAR, EER, AUC. */
export function formatPairTable(rows: readonly { name: string; result: PairProtocolResult }[]): string {
  const far = rows[0]?.result.valFarTarget ?? 1e-3;
  return formatTable(
    ["set", "accuracy", `VAL@FAR=${farLabel(far)}`, "EER", "AUC"],
    rows.map(({ name, result: r }) => [
      name,
      `${percent(r.accuracy)} ± ${percent(r.accuracyStd)}`,
      `${percent(r.val)} ± ${percent(r.valStd)}`,
      percent(r.roc.eer),
      percent(r.roc.auc, 3),
    ]),
  );
}

/** One row per ROC (IJB-B/C templates, all-vs-all): TAR at each FAR of the first row, EER, AUC; n/a where unresolvable. */
export function formatTarTable(rows: readonly { name: string; roc: RocSummary }[]): string {
  const fars = rows[0]?.roc.tarAtFar.map((t) => t.far) ?? [];
  return formatTable(
    ["model", ...fars.map((f) => `TAR@FAR=${farLabel(f)}`), "EER", "AUC"],
    rows.map(({ name, roc }) => [
      name,
      ...fars.map((f) => percent(roc.tarAtFar.find((t) => t.far === f)?.tar ?? null)),
      percent(roc.eer),
      percent(roc.auc, 3),
    ]),
  );
}

/** One row per identification run: rank-1 and TPIR at each FPIR of the first row. */
export function formatIdentificationTable(rows: readonly { name: string; result: IdentificationResult }[]): string {
  const fpirs = rows[0]?.result.tpirAtFpir.map((t) => t.fpir) ?? [];
  return formatTable(
    ["model", "rank-1", ...fpirs.map((f) => `TPIR@FPIR=${farLabel(f)}`)],
    rows.map(({ name, result }) => [
      name,
      percent(result.rank1),
      ...fpirs.map((f) => percent(result.tpirAtFpir.find((t) => t.fpir === f)?.tpir ?? null)),
    ]),
  );
}
