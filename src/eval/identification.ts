// 1:N identification of probes against a gallery (IJB-C 1:N, MegaFace style), by blocks of probes so that no
// probes x gallery matrix is held: closed-set rank-1 over the mated probes (whose identity is in the gallery), and
// open-set TPIR@FPIR at rank 1. A mated search counts as a true positive at threshold t when its top gallery match
// is of its identity and scores >= t; a non-mated search is a false positive when its top score is >= t.
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";
import { l2Normalize } from "./embeddings.js";
import { indexTensor } from "./inputs.js";
import { rocFromScores } from "./roc.js";

export const STANDARD_FPIRS: readonly number[] = [1e-3, 1e-2, 1e-1];

export interface IdentificationOptions {
  /** FPIRs at which to report the TPIR (default 1e-3, 1e-2, 1e-1). */
  fpirs?: readonly number[];
  /** Largest probes x gallery block, in scores (default 2^22). */
  blockScores?: number;
}

export interface TpirAtFpir {
  fpir: number;
  /** null (n/a) when fpir * non-mated probes < 1. */
  tpir: number | null;
  threshold: number | null;
  achievedFpir: number | null;
}

export interface IdentificationResult {
  probes: number;
  matedProbes: number;
  nonMatedProbes: number;
  /** Share of mated probes whose best gallery match has their identity; null without mated probes. */
  rank1: number | null;
  tpirAtFpir: TpirAtFpir[];
}

/** Searches every probe in the gallery by cosine similarity of L2-normalized embeddings. */
export function identify(
  gallery: Tensor,
  galleryLabels: Tensor | ArrayLike<number>,
  probes: Tensor,
  probeLabels: Tensor | ArrayLike<number>,
  options: IdentificationOptions = {},
): IdentificationResult {
  const fpirs = options.fpirs ?? STANDARD_FPIRS;
  if (!fpirs.every((f) => f > 0 && f < 1))
    throw new Error(`identify: FPIRs must be in (0, 1), got ${fpirs}; at FPIR 1 the TPIR is the rank1 rate`);
  return torch.noGrad(() =>
    torch.tidy(() => {
      const g = l2Normalize(gallery);
      const p = l2Normalize(probes);
      const gLabel = indexTensor(galleryLabels, "identify: galleryLabels");
      const pLabel = indexTensor(probeLabels, "identify: probeLabels");
      const [ng, np] = [g.shape[0]!, p.shape[0]!];
      if (gLabel.numel() !== ng || pLabel.numel() !== np || g.shape[1] !== p.shape[1] || ng === 0)
        throw new Error(
          `identify: gallery [${gallery.shape}] with ${gLabel.numel()} labels and probes [${probes.shape}] with ` +
            `${pLabel.numel()} labels do not match (one label per row, one embedding size, a non-empty gallery)`,
        );
      const rowsPerBlock = Math.max(1, Math.floor((options.blockScores ?? 2 ** 22) / ng));
      const parts: { top: Tensor; correct: Tensor; mated: Tensor }[] = [];
      for (let start = 0; start < np; start += rowsPerBlock) {
        const size = Math.min(rowsPerBlock, np - start);
        parts.push(
          torch.tidy(() => {
            const scores = p.narrow(0, start, size).mm(g.t());
            const [top, best] = scores.max(1);
            const own = pLabel.narrow(0, start, size);
            return {
              top,
              correct: gLabel.index([best]).eq(own),
              mated: torch.aten.any_dim(own.unsqueeze(1).eq(gLabel.unsqueeze(0)), 1),
            };
          }),
        );
      }
      const top = torch.cat(parts.map((b) => b.top));
      const correct = torch.cat(parts.map((b) => b.correct));
      const mated = torch.cat(parts.map((b) => b.mated));
      const matedCount = mated.sum().item();
      const nonMatedCount = np - matedCount;
      const rank1 = matedCount === 0 ? null : torch.aten.logical_and(correct, mated).sum().item() / matedCount;
      let tpirAtFpir: TpirAtFpir[] = fpirs.map((fpir) => ({ fpir, tpir: null, threshold: null, achievedFpir: null }));
      if (matedCount > 0 && nonMatedCount > 0) {
        // A mated search whose top match is wrong is never a true positive: score -inf, below every threshold
        // that a FPIR < 1 can reach.
        const positive = torch.where(correct, top, -Infinity).maskedSelect(mated);
        const roc = rocFromScores(positive, top.maskedSelect(mated.logicalNot()), { fars: fpirs, curvePoints: 2 });
        tpirAtFpir = roc.tarAtFar.map((t) => ({
          fpir: t.far,
          tpir: t.tar,
          threshold: t.threshold,
          achievedFpir: t.achievedFar,
        }));
      }
      return { probes: np, matedProbes: matedCount, nonMatedProbes: nonMatedCount, rank1, tpirAtFpir };
    }),
  );
}
