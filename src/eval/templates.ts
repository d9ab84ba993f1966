// The IJB-B/C template protocol, as insightface's eval_ijbc.py computes it: image embeddings (flip-summed by the
// caller) are optionally L2-normalized and weighted by a quality score (the detector's faceness), averaged per
// media (the frames of one video, or one still), summed per template and L2-normalized; a template pair's score
// is the cosine of its two pooled embeddings.
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";
import { l2Normalize } from "./embeddings.js";
import { flagTensor, indexTensor } from "./inputs.js";
import { rocFromScores, type RocOptions, type RocSummary } from "./roc.js";

export interface TemplatePoolingOptions {
  /** Per-image weights (insightface multiplies by the detector score); default none. */
  imageWeights?: Tensor | ArrayLike<number>;
  /** L2-normalize each image embedding first. insightface's default keeps the norm as a quality signal: false. */
  normalizeImages?: boolean;
}

export interface PooledTemplates {
  /** The distinct template ids, ascending (int64). */
  ids: Tensor;
  /** Row t is the unit-norm embedding of template ids[t] (float32). */
  embeddings: Tensor;
}

/** Pools image embeddings [N, D] into templates: mean per (template, media), sum per template, normalize. */
export function poolTemplates(
  embeddings: Tensor,
  templateIds: Tensor | ArrayLike<number>,
  mediaIds: Tensor | ArrayLike<number>,
  options: TemplatePoolingOptions = {},
): PooledTemplates {
  return torch.tidy(() =>
    torch.noGrad(() => {
      const n = embeddings.shape[0]!;
      const template = indexTensor(templateIds, "poolTemplates: templateIds");
      const media = indexTensor(mediaIds, "poolTemplates: mediaIds");
      if (embeddings.ndim !== 2 || template.numel() !== n || media.numel() !== n || n === 0)
        throw new Error(
          `poolTemplates: expected [N, D] embeddings with N template and media ids, got [${embeddings.shape}], ` +
            `${template.numel()} template ids and ${media.numel()} media ids`,
        );
      let x = options.normalizeImages ? l2Normalize(embeddings) : embeddings.to("float32");
      if (options.imageWeights !== undefined) {
        const w = weightTensor(options.imageWeights);
        if (w.numel() !== n) throw new Error(`poolTemplates: ${n} images but ${w.numel()} image weights`);
        x = x.mul(w.unsqueeze(1));
      }
      // Order by (template, media): stable sorts by the minor key, then the major one.
      const [, byMedia] = media.sort(0);
      const [, byTemplate] = template.index([byMedia]).sort(0);
      const order = byMedia.index([byTemplate]);
      const t = template.index([order]);
      const m = media.index([order]);
      const newTemplate = startsOfRuns(t);
      const newGroup = torch.aten.logical_or(newTemplate, startsOfRuns(m));
      const group = newGroup.to("int64").cumsum(0).sub(1);
      const groups = group.narrow(0, n - 1, 1).item() + 1;
      const templateOfImage = newTemplate.to("int64").cumsum(0).sub(1);
      const templates = templateOfImage.narrow(0, n - 1, 1).item() + 1;
      const d = x.shape[1]!;
      const mediaSum = torch.aten.index_add(torch.zeros([groups, d]), 0, group, x.index([order]));
      const mediaCount = torch.aten.bincount(group, null, groups).to("float32").unsqueeze(1);
      const templateOfGroup = templateOfImage.maskedSelect(newGroup);
      const pooled = torch.aten.index_add(torch.zeros([templates, d]), 0, templateOfGroup, mediaSum.div(mediaCount));
      return { ids: t.maskedSelect(newTemplate), embeddings: l2Normalize(pooled) };
    }),
  );
}

/** Cosine scores of template pairs (first[i], second[i]), by template id; computed in blocks of pairs. */
export function scoreTemplatePairs(
  templates: PooledTemplates,
  first: Tensor | ArrayLike<number>,
  second: Tensor | ArrayLike<number>,
  blockSize = 16384,
): Tensor {
  return torch.tidy(() =>
    torch.noGrad(() => {
      const a = rowsOf(templates.ids, indexTensor(first, "scoreTemplatePairs: first"));
      const b = rowsOf(templates.ids, indexTensor(second, "scoreTemplatePairs: second"));
      if (a.numel() !== b.numel())
        throw new Error(`scoreTemplatePairs: ${a.numel()} first but ${b.numel()} second template ids`);
      const scores: Tensor[] = [];
      for (let start = 0; start < a.numel(); start += blockSize) {
        const size = Math.min(blockSize, a.numel() - start);
        scores.push(
          torch.tidy(() => {
            const left = templates.embeddings.index([a.narrow(0, start, size)]);
            const right = templates.embeddings.index([b.narrow(0, start, size)]);
            return left.mul(right).sum(1);
          }),
        );
      }
      return torch.cat(scores);
    }),
  );
}

export interface TemplatePairs {
  first: Tensor | ArrayLike<number>;
  second: Tensor | ArrayLike<number>;
  /** 1 (or true) for a genuine pair. */
  same: Tensor | ArrayLike<number | boolean>;
}

/**
 * The whole IJB-style 1:1 evaluation: pool, score the pair list, ROC with TAR@FAR (1e-6 .. 1e-1 by default); also
 * the number of templates and every pair's score, in pair-list order.
 */
export function verifyTemplates(
  embeddings: Tensor,
  templateIds: Tensor | ArrayLike<number>,
  mediaIds: Tensor | ArrayLike<number>,
  pairs: TemplatePairs,
  options: TemplatePoolingOptions & RocOptions = {},
): RocSummary & { templates: number; scores: Float32Array } {
  return torch.tidy(() => {
    const pooled = poolTemplates(embeddings, templateIds, mediaIds, options);
    const scores = scoreTemplatePairs(pooled, pairs.first, pairs.second);
    const same = flagTensor(pairs.same, "verifyTemplates: same");
    if (same.numel() !== scores.numel())
      throw new Error(`verifyTemplates: ${scores.numel()} pairs but ${same.numel()} same labels`);
    const roc = rocFromScores(scores.maskedSelect(same), scores.maskedSelect(same.logicalNot()), options);
    return { ...roc, templates: pooled.ids.numel(), scores: scores.data() as Float32Array };
  });
}

// True where a run of equal values starts (sorted input).
function startsOfRuns(sorted: Tensor): Tensor {
  const n = sorted.numel();
  const first = torch.ones([1], { dtype: "bool" });
  return n === 1 ? first : torch.cat([first, sorted.narrow(0, 1, n - 1).ne(sorted.narrow(0, 0, n - 1))]);
}

// Row positions of template ids in the ascending `ids`; an unknown id is an error that names it.
function rowsOf(ids: Tensor, wanted: Tensor): Tensor {
  const position = torch.aten.searchsorted_Tensor(ids, wanted).clampMax(ids.numel() - 1);
  const found = ids.index([position]).eq(wanted);
  if (!found.all().item()) {
    const missing = wanted.maskedSelect(found.logicalNot()).narrow(0, 0, 1).item();
    throw new Error(`scoreTemplatePairs: template id ${missing} is in the pair list but has no images`);
  }
  return position;
}

function weightTensor(weights: Tensor | ArrayLike<number>): Tensor {
  return weights instanceof torch.Tensor ? weights.flatten().to("float32") : torch.tensor(Float32Array.from(weights));
}
