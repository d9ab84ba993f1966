// TwoNN intrinsic-dimension estimators (Facco et al. 2017) from first and second nearest-neighbour distances
// r1 <= r2: mu = r2 / r1 follows the Pareto law f(mu | d) = d mu^-(d+1), so -log(1 - F(mu)) = d log(mu).
//   "skdim"   scikit-dimension's TwoNN: sort mu, keep the smallest floor(N (1 - discard)), F_i = i / N from i = 0,
//             least squares through the origin of -log(1 - F) on log mu. A duplicate (r1 = 0) has mu = +inf (NaN
//             when r2 = 0 too), sorts last and falls in the discarded tail; more duplicates than that is an error.
//   "ansuini" Ansuini et al. 2019: drop points with r1 = 0 or r1 = r2, then N is the rest, F_i = i / N from i = 1,
//             the same fit on the first floor(N (1 - discard)) points (never the last two).
//   "mle"     maximum likelihood, (N - 1) / sum(log mu), over the points with r1 > 0.
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";

export const TWO_NN_VARIANTS = ["skdim", "ansuini", "mle"] as const;
export type TwoNNVariant = (typeof TWO_NN_VARIANTS)[number];

export interface TwoNNOptions {
  /** Default "skdim". */
  variant?: TwoNNVariant;
  /** The share of the largest mu left out of the fit (default 0.1; not used by "mle"). */
  discard?: number;
}

/** The TwoNN estimate from per-point first and second neighbour distances (1-d tensors of one length). */
export function twoNN(r1: Tensor, r2: Tensor, options: TwoNNOptions = {}): number {
  const variant = options.variant ?? "skdim";
  const keep = 1 - (options.discard ?? 0.1);
  if (!(keep > 0 && keep <= 1)) throw new Error(`twoNN: discard must be in [0, 1), got ${options.discard}`);
  if (r1.numel() !== r2.numel()) throw new Error(`twoNN: ${r1.numel()} r1 but ${r2.numel()} r2 values`);
  return torch.noGrad(() =>
    torch.tidy(() => {
      const a = r1.flatten().to("float64");
      const b = r2.flatten().to("float64");
      switch (variant) {
        case "skdim":
          return skdim(a, b, keep);
        case "ansuini":
          return ansuini(a, b, keep);
        case "mle":
          return maximumLikelihood(a, b);
        default:
          throw new Error(`twoNN: unknown variant '${String(variant)}' (expected ${TWO_NN_VARIANTS.join(", ")})`);
      }
    }),
  );
}

function skdim(r1: Tensor, r2: Tensor, keep: number): number {
  const n = r1.numel();
  const m = Math.trunc(n * keep); // int(N * (1 - discard_fraction))
  if (m < 2) throw new Error(`twoNN (skdim): ${n} points leave ${m} to fit; need at least 2 after the discard`);
  const mu = r2.div(r1).sort(0)[0].narrow(0, 0, m); // NaN (0/0) sorts after +inf, as in numpy
  const x = mu.log();
  if (!x.isfinite().all().item()) {
    const duplicates = r1.eq(0).sum().item();
    throw new Error(
      `twoNN (skdim): ${duplicates} of ${n} points have a duplicate (r1 = 0), more than the discarded ` +
        `${n - m}; deduplicate the embeddings or use the "ansuini" variant, which drops them`,
    );
  }
  const y = torch.arange(m, undefined, 1, { dtype: "float64" }).div(n).neg().add(1).log().neg();
  return throughOrigin(x, y);
}

function ansuini(r1: Tensor, r2: Tensor, keep: number): number {
  const good = torch.aten.logical_and(r1.gt(0), r1.ne(r2));
  const n = good.sum().item();
  const fitted = Math.min(Math.floor(n * keep), n - 2); // x = log(mu[:-2])[:npoints]
  if (fitted < 2) throw new Error(`twoNN (ansuini): ${n} points with 0 < r1 < r2 leave ${fitted} to fit; need 2`);
  const mu = r2.maskedSelect(good).div(r1.maskedSelect(good)).sort(0)[0].narrow(0, 0, fitted);
  const y = torch
    .arange(1, fitted + 1, 1, { dtype: "float64" })
    .div(n)
    .neg()
    .add(1)
    .log()
    .neg();
  return throughOrigin(mu.log(), y);
}

function maximumLikelihood(r1: Tensor, r2: Tensor): number {
  const valid = r1.gt(0);
  const n = valid.sum().item();
  if (n < 2) throw new Error(`twoNN (mle): ${n} points with r1 > 0; need 2`);
  return (n - 1) / r2.maskedSelect(valid).div(r1.maskedSelect(valid)).log().sum().item();
}

// The least-squares slope of y = d x (no intercept).
function throughOrigin(x: Tensor, y: Tensor): number {
  return x.mul(y).sum().item() / x.square().sum().item();
}
