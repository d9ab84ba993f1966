// The rows that the ranks of a sharded inference computed, put back together in dataset order on every rank: each
// rank holds some rows and their dataset positions; the ranks' counts may differ (a batch's tail splits unevenly),
// and Gloo gathers equal sizes, so each rank pads to the largest count and the padding is dropped on arrival.
import * as torch from "../torch/index.js";
import type { ProcessGroup } from "../torch/distributed.js";

/** Collective: `rows` [n, D] of this rank at dataset positions `indices` [n] (int64), as [total, D] on every rank. */
export function gatherRows(
  group: ProcessGroup,
  rows: torch.Tensor,
  indices: torch.Tensor,
  total: number,
): torch.Tensor {
  return torch.tidy(() => {
    const counts = group.allGatherIntoTensor(torch.tensor([rows.size(0)], { dtype: "int64" })).toNumbers();
    const most = Math.max(...counts);
    const pad = (t: torch.Tensor) =>
      torch.cat([t.contiguous(), torch.zeros([most - t.size(0), ...t.shape.slice(1)], { dtype: t.dtype })]);
    const allRows = group.allGatherIntoTensor(pad(rows.cpu()));
    const allIndices = group.allGatherIntoTensor(pad(indices.cpu()));
    const out = torch.zeros([total, ...rows.shape.slice(1)], { dtype: rows.dtype });
    counts.forEach((count, r) => {
      if (count > 0) {
        torch.aten.index_put_(out, [allIndices.narrow(0, r * most, count)], allRows.narrow(0, r * most, count));
      }
    });
    return out;
  });
}
