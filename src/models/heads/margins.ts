// Margin-based softmax heads of face recognition, as insightface's combined margin: for the target class the
// cosine cos(theta) becomes cos(m1 * theta + m2) - m3, every logit is then multiplied by the scale s.
// ArcFace is (1, m, 0), CosFace (1, 0, m), NormFace (1, 0, 0): the plain normalized softmax.
import * as torch from "../../torch/index.js";
import type { Tensor } from "../../torch/index.js";

const F = torch.nn.functional;

export interface CombinedMarginOptions {
  /** Scale of the logits (64 in arcface_torch). */
  s?: number;
  /** Multiplicative angular margin (SphereFace). */
  m1?: number;
  /** Additive angular margin (ArcFace). */
  m2?: number;
  /** Additive cosine margin (CosFace). */
  m3?: number;
}

// acos is infinitely steep at +-1: its input is kept this far inside
const ACOS_EPS = 1e-7;

export class CombinedMargin {
  readonly s: number;
  readonly m1: number;
  readonly m2: number;
  readonly m3: number;

  constructor({ s = 64, m1 = 1, m2 = 0, m3 = 0 }: CombinedMarginOptions = {}) {
    for (const [k, v] of Object.entries({ s, m1, m2, m3 })) {
      if (!Number.isFinite(v)) throw new RangeError(`${this.constructor.name}: ${k} must be a finite number, got ${v}`);
    }
    if (s <= 0 || m1 <= 0 || m2 < 0 || m2 >= Math.PI) {
      throw new RangeError(
        `${this.constructor.name}: need s > 0, m1 > 0 and 0 <= m2 < pi, got s=${s}, m1=${m1}, m2=${m2}`,
      );
    }
    this.s = s;
    this.m1 = m1;
    this.m2 = m2;
    this.m3 = m3;
  }

  /**
   * The scaled logits [N, C] from cosines [N, C] (within [-1, 1]) and target classes [N] (int64): the margin goes
   * on each row's target column only. A row labelled -1 gets none (its class is among another shard's columns).
   */
  apply(cosine: Tensor, labels: Tensor): Tensor {
    return torch.tidy(() => {
      const index = labels.clampMin(0).unsqueeze(1);
      const target = this.targetLogit(cosine.gather(1, index));
      const isTarget = torch
        .zeros(cosine.shape, { dtype: "bool", device: cosine.device })
        .scatter(1, index, labels.ge(0).unsqueeze(1));
      return torch.where(isTarget, target, cosine).mul(this.s);
    });
  }

  /** cos(m1 theta + m2) - m3 for the target cosines (unscaled). */
  targetLogit(cosine: Tensor): Tensor {
    if (this.m1 === 1 && this.m2 === 0) return cosine.sub(this.m3);
    return torch.tidy(() => {
      // arcface_torch's safe form: past m1 theta + m2 = pi the cosine would rise again as theta grows, so there
      // the target gets cos(theta) - m2 sin(m2) - m3 instead, which keeps falling
      const limit = (Math.PI - this.m2) / this.m1;
      const fallback = cosine.sub(this.m3 + this.m2 * Math.sin(this.m2));
      let margined: Tensor;
      if (this.m1 === 1) {
        // cos(theta + m) = cos theta cos m - sin theta sin m; the clamp keeps sqrt's gradient finite at |cos| = 1
        const sine = cosine.square().neg().add(1).clampMin(1e-12).sqrt();
        margined = cosine
          .mul(Math.cos(this.m2))
          .sub(sine.mul(Math.sin(this.m2)))
          .sub(this.m3);
      } else {
        const theta = cosine.clamp(-1 + ACOS_EPS, 1 - ACOS_EPS).acos();
        margined = theta.mul(this.m1).add(this.m2).cos().sub(this.m3);
      }
      return limit >= Math.PI ? margined : torch.where(cosine.gt(Math.cos(limit)), margined, fallback);
    });
  }
}

/** ArcFace (Deng et al. 2019): additive angular margin m (0.5), scale s (64). */
export class ArcFace extends CombinedMargin {
  constructor({ s = 64, m = 0.5 }: { s?: number; m?: number } = {}) {
    super({ s, m2: m });
  }
}

/** CosFace (Wang et al. 2018): additive cosine margin m (0.4), scale s (64). */
export class CosFace extends CombinedMargin {
  constructor({ s = 64, m = 0.4 }: { s?: number; m?: number } = {}) {
    super({ s, m3: m });
  }
}

/** NormFace (Wang et al. 2017): softmax over scaled cosines, no margin. */
export class NormFace extends CombinedMargin {
  constructor({ s = 64 }: { s?: number } = {}) {
    super({ s });
  }
}

export const MARGIN_NAMES = ["arcface", "cosface", "normface", "combined"] as const;
export type MarginName = (typeof MARGIN_NAMES)[number];

/** A margin by name, for configuration files: `combined` takes m1, m2, m3; the others their own `m`. */
export function createMargin(name: MarginName, options: CombinedMarginOptions & { m?: number } = {}): CombinedMargin {
  const { s, m, ...combined } = options;
  switch (name) {
    case "arcface":
      return new ArcFace({ s, m });
    case "cosface":
      return new CosFace({ s, m });
    case "normface":
      return new NormFace({ s });
    case "combined":
      return new CombinedMargin({ s, ...combined });
    default:
      throw new Error(`unknown margin '${String(name)}': use one of ${MARGIN_NAMES.join(", ")}`);
  }
}

/** Cosines [N, C] between embeddings [N, D] and class centres [C, D], both L2-normalized, clamped to [-1, 1]. */
export function cosineLogits(embeddings: Tensor, centres: Tensor): Tensor {
  return torch.tidy(() => F.linear(F.normalize(embeddings), F.normalize(centres)).clamp(-1, 1));
}
