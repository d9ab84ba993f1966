// The rows that the ranks of a sharded computation hold, put back together in their global order on every rank:
// each rank holds some rows and their positions; the ranks' counts may differ (a batch's tail splits unevenly), and
// Gloo gathers equal sizes, so each rank pads to the largest count and the padding is dropped on arrival.
import { tensor, zeros } from "./creation.js";
import type { ProcessGroup } from "./distributed.js";
import { index_put_ } from "./generated/aten.js";
import { cat } from "./ops.js";
import { tidy } from "./scope.js";
import type { Tensor } from "./tensor.js";

/** Collective: `rows` [n, ...] of this rank at positions `indices` [n] (int64), as [total, ...] on every rank. */
export function gatherRows(group: ProcessGroup, rows: Tensor, indices: Tensor, total: number): Tensor {
  return tidy(() => {
    const counts = group.allGatherIntoTensor(tensor([rows.size(0)], { dtype: "int64" })).toNumbers();
    const most = Math.max(...counts);
    const pad = (t: Tensor) =>
      cat([t.contiguous(), zeros([most - t.size(0), ...t.shape.slice(1)], { dtype: t.dtype })]);
    const allRows = group.allGatherIntoTensor(pad(rows.cpu()));
    const allIndices = group.allGatherIntoTensor(pad(indices.cpu()));
    const out = zeros([total, ...rows.shape.slice(1)], { dtype: rows.dtype });
    counts.forEach((count, r) => {
      if (count > 0) index_put_(out, [allIndices.narrow(0, r * most, count)], allRows.narrow(0, r * most, count));
    });
    return out;
  });
}
