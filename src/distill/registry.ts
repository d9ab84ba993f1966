// Losses by name, with a weight, combined into one objective: `combineLosses([{ name: "fo", weight: 5 }])`.
// Each loss keeps the reduction its source's published weights assume (embedding.ts explains ReFO's), so a weight
// taken from a paper means there what it meant in the paper.
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";
import { PartialFC, createMargin, type MarginName } from "../models/heads/index.js";
import { crossEntropyLoss, marginLoss } from "./classification.js";
import type { Loss, LossContext } from "./context.js";
import { embeddingLoss, type EmbeddingDistanceOptions } from "./embedding.js";
import { HintRegressor, attentionLoss, fitnetLoss, lspLoss } from "./feature.js";
import { shkdLoss, thkdLoss } from "./head-sharing.js";
import { featureOnlyLoss, reverseLoss } from "./refo.js";
import { rkdAngleLoss, rkdDistanceLoss, spLoss } from "./relation.js";
import { kdLoss, kdMixedLoss } from "./response.js";
import { adadistillLoss, AdaptiveCentres, type AdaDistillOptions } from "./adadistill.js";
import { ContrastMemory, crdLoss, type CrdOptions } from "./crd.js";
import { dkdLoss, type DecoupledKDOptions } from "./dkd.js";
import { EkdThresholds, ekdFars, ekdLoss, type EkdOptions } from "./ekd.js";
import { marginDistillationLoss, type MarginDistillationOptions } from "./margin-distillation.js";
import { pktLoss } from "./pkt.js";
import { EmbeddingQueue, qudLoss } from "./qud.js";

type AnyModule = torch.nn.Module<never[], unknown>;
type Options = Record<string, unknown>;

/** One term of an objective, as written in a configuration file. */
export interface LossSpec {
  /** A registered loss (see `listLosses()`). */
  name: string;
  /** The factor of the term in the total (1). */
  weight?: number;
  /** The term's name in results, logs and state-dict keys (the loss name): needed to use one loss twice. */
  label?: string;
  options?: Options;
}

export interface LossResult {
  /** The sum of weight * term, to call backward() on. */
  total: Tensor;
  /** Each term's unweighted value by label, for logging. */
  terms: Record<string, number>;
}

/** The learned parts of an objective (margin-head class centres, FitNet regressors) under their terms' labels. */
export class LossModules extends torch.nn.Module<[], never> {
  add<M extends AnyModule>(label: string, module: M): M {
    return this.registerModule(label, module);
  }
  forward(): never {
    throw new Error("LossModules has no forward(): call the combined loss");
  }
}

/**
 * A weighted sum of losses, called on a context. Its `module` holds the terms' learned parts: give its parameters
 * to the optimizer, save its state dict with the model, and switch it with `train()` / `eval()`.
 */
export interface CombinedLoss {
  (ctx: LossContext): LossResult;
  readonly module: LossModules;
  readonly terms: readonly { label: string; name: string; weight: number }[];
}

export interface LossEntry {
  /** One line for listings and help texts. */
  summary: string;
  /** The option names it accepts; any other is an error. */
  options: readonly string[];
  /** Makes the loss; `adopt` registers a learned part under the term's label. */
  create(options: Options, adopt: <M extends AnyModule>(module: M) => M): Loss;
}

const registry = new Map<string, LossEntry>();

/** Adds (or replaces) a loss under `name`. */
export function registerLoss(name: string, entry: LossEntry): void {
  registry.set(name, entry);
}

export function listLosses(): ({ name: string } & Omit<LossEntry, "create">)[] {
  return [...registry].map(([name, { summary, options }]) => ({ name, summary, options }));
}

/** The registered losses that transfer knowledge between models: every one but the classification terms. */
export function distillationLosses(): string[] {
  return [...registry.keys()].filter((name) => !CLASSIFICATION.has(name));
}

/** The objective sum(weight_i * loss_i) of `specs`. */
export function combineLosses(specs: readonly LossSpec[]): CombinedLoss {
  if (specs.length === 0) throw new Error("combineLosses: no losses given (name at least one, such as 'fo')");
  const labels = specs.map((spec) => spec.label ?? spec.name);
  const repeated = labels.find((label, i) => labels.indexOf(label) !== i);
  if (repeated !== undefined) throw new Error(`two terms are labelled '${repeated}': give each its own label`);
  const module = new LossModules();
  const build = (spec: LossSpec, i: number) => {
    const entry = registry.get(spec.name);
    if (!entry) {
      throw new Error(`unknown loss '${spec.name}': use one of ${[...registry.keys()].join(", ")}`);
    }
    const label = labels[i]!;
    const weight = spec.weight ?? 1;
    if (!Number.isFinite(weight)) {
      throw new RangeError(`loss '${label}': weight must be a finite number, got ${weight}`);
    }
    if (label === "" || label.includes(".")) {
      throw new RangeError(`loss label '${label}' must be non-empty and without dots (it prefixes state-dict keys)`);
    }
    const options = spec.options ?? {};
    const unknown = Object.keys(options).filter((k) => !entry.options.includes(k));
    if (unknown.length > 0) {
      throw new Error(
        `loss '${label}': unknown option ${unknown.map((k) => `'${k}'`).join(", ")} ` +
          `(${spec.name} takes ${entry.options.length ? entry.options.join(", ") : "no options"})`,
      );
    }
    const loss = entry.create(options, (m) => module.add(label, m));
    return { label, name: spec.name, weight, loss };
  };
  let built: ReturnType<typeof build>[];
  try {
    built = specs.map(build);
  } catch (error) {
    module.dispose(); // the learned parts of the terms made before the failing one
    throw error;
  }

  const combined = (ctx: LossContext): LossResult =>
    torch.tidy(() => {
      const terms: Record<string, number> = {};
      let total: Tensor | null = null;
      for (const { label, weight, loss } of built) {
        const value = loss(ctx);
        if (value.ndim !== 0) {
          throw new Error(`loss '${label}' returned shape [${value.shape.join(", ")}] instead of a scalar`);
        }
        terms[label] = value.item();
        const weighted = value.mul(weight);
        total = total === null ? weighted : total.add(weighted);
      }
      return { total: total!, terms };
    });
  return Object.assign(combined, { module, terms: built.map(({ label, name, weight }) => ({ label, name, weight })) });
}

// ---- the built-in losses ----

const EMBEDDING_OPTIONS = ["metric", "beta"];
const TAPS = ["student", "teacher"];

registerLoss("embedding", {
  summary: "L_emb(f_s, f_t) against a live teacher's embedding",
  options: EMBEDDING_OPTIONS,
  create: (o) => embeddingLoss(o as EmbeddingDistanceOptions),
});
registerLoss("fo", {
  summary: "ReFO feature-only distillation: L_emb(f_s, f_t) against precomputed teacher embeddings (beta2 = 5)",
  options: EMBEDDING_OPTIONS,
  create: (o) => featureOnlyLoss(o as EmbeddingDistanceOptions),
});
registerLoss("reverse", {
  summary: "ReFO reverse distillation: L_emb(f_t, f_s') against precomputed student embeddings (beta1 = 0.5)",
  options: EMBEDDING_OPTIONS,
  create: (o) => reverseLoss(o as EmbeddingDistanceOptions),
});

const MARGINS: readonly MarginName[] = ["arcface", "cosface", "normface", "combined"];
const CLASSIFICATION = new Set<string>([...MARGINS, "ce"]);
for (const margin of MARGINS) {
  const marginKeys = margin === "combined" ? ["s", "m1", "m2", "m3"] : margin === "normface" ? ["s"] : ["s", "m"];
  registerLoss(margin, {
    summary: `${margin} margin softmax through a Partial FC head of its own (numClasses x embeddingSize centres)`,
    options: ["model", "numClasses", "embeddingSize", "sampleRate", ...marginKeys],
    create: ({ model, numClasses, embeddingSize = 512, sampleRate, ...marginOptions }, adopt) => {
      const head = new PartialFC({
        margin: createMargin(margin, marginOptions),
        numClasses: numClasses as number,
        embeddingSize: embeddingSize as number,
        sampleRate: sampleRate as number | undefined,
      });
      return marginLoss(adopt(head), { model: model as "student" | "teacher" | undefined });
    },
  });
}
registerLoss("ce", {
  summary: "cross entropy of a model's logits against the labels",
  options: ["model", "labelSmoothing"],
  create: (o) => crossEntropyLoss(o),
});

registerLoss("kd", {
  summary: "Hinton KD: KL(softmax(z_t/T) || softmax(z_s/T)) * T^2",
  options: ["temperature"],
  create: (o) => kdLoss(o),
});
registerLoss("kd-ce", {
  summary: "lambda * KD + (1 - lambda) * CE(z_s, y)",
  options: ["temperature", "lambda"],
  create: (o) => kdMixedLoss(o),
});

registerLoss("fitnet", {
  summary: "FitNet hints: a learned 1x1 regressor from a student tap to a teacher tap, MSE",
  options: [...TAPS, "studentChannels", "teacherChannels"],
  create: ({ studentChannels, teacherChannels, ...taps }, adopt) =>
    fitnetLoss(adopt(new HintRegressor(studentChannels as number, teacherChannels as number)), tapPair("fitnet", taps)),
});
registerLoss("at", {
  summary: "attention transfer: normalized spatial maps mean_c |A_c|^p of two taps",
  options: [...TAPS, "p"],
  create: ({ p, ...taps }) => attentionLoss({ ...tapPair("at", taps), p: p as number | undefined }),
});
registerLoss("lsp", {
  summary: "local structure preservation: similarity distributions over the k nearest neighbours, KL",
  options: ["tap", "k", "normalize"],
  create: (o) => lspLoss(o),
});

registerLoss("rkd-distance", {
  summary: "RKD distance: Huber loss between mean-normalized pairwise distances",
  options: ["tap"],
  create: (o) => rkdDistanceLoss(o),
});
registerLoss("rkd-angle", {
  summary: "RKD angle: Huber loss between the cosines of every triplet's angles",
  options: ["tap"],
  create: (o) => rkdAngleLoss(o),
});
registerLoss("sp", {
  summary: "similarity-preserving KD: row-normalized batch Gram matrices, squared distance / N^2",
  options: ["tap"],
  create: (o) => spLoss(o),
});

registerLoss("th-kd", {
  summary: "TH-KD: the teacher's frozen classifier on the student's embedding, KL at temperature T (4) * T^2",
  options: ["temperature", "scale"],
  create: (o) => thkdLoss(o),
});
registerLoss("sh-kd", {
  summary: "SH-KD: the teacher trained through the student's frozen classifier (margin softmax, true labels)",
  options: ["margin", "s", "m", "m1", "m2", "m3"],
  create: (o) => shkdLoss(o),
});

function tapPair(loss: string, { student, teacher }: Options): { student: string; teacher?: string } {
  if (typeof student !== "string" || (teacher !== undefined && typeof teacher !== "string")) {
    throw new TypeError(
      `loss '${loss}': options student (and optionally teacher) must name feature taps, such as 'stage3'`,
    );
  }
  return { student, teacher };
}

// ---- the face-KD methods compared against and the strongest general ones (issue 18) ----

registerLoss("ekd", {
  summary: "EKD: the pairs' soft rank among both models' thresholds at FPRs 1e-1..1e-6, positives and hard negatives",
  options: ["fars", "temperature", "momentum", "topk", "positiveWeight", "negativeWeight"],
  create: (o, adopt) => ekdLoss(adopt(new EkdThresholds(ekdFars(o as EkdOptions))), o as EkdOptions),
});
registerLoss("qud", {
  summary: "QUD: contrastive loss of f_s against f_t with a queue of earlier teacher embeddings (K 1024, tau 0.07)",
  options: ["queueSize", "temperature", "embeddingSize"],
  create: ({ queueSize = 1024, embeddingSize = 512, temperature }, adopt) =>
    qudLoss(adopt(new EmbeddingQueue(queueSize as number, embeddingSize as number)), {
      temperature: temperature as number | undefined,
    }),
});
registerLoss("adadistill", {
  summary: "AdaDistill: the student's margin softmax on class centres distilled from the teacher's embeddings",
  options: ["numClasses", "embeddingSize", "margin", "s", "m"],
  create: ({ numClasses, embeddingSize = 512, ...o }, adopt) =>
    adadistillLoss(adopt(new AdaptiveCentres(numClasses as number, embeddingSize as number)), o as AdaDistillOptions),
});
registerLoss("margin-distillation", {
  summary: "MarginDistillation: ArcFace on the teacher's frozen centres, margin per sample from the teacher (0.2-0.5)",
  options: ["s", "mMax", "mMin"],
  create: (o) => marginDistillationLoss(o as MarginDistillationOptions),
});
registerLoss("crd", {
  summary: "CRD: NCE between 128-d projections of both embeddings and memory banks over the dataset (K 16384)",
  options: ["datasetSize", "studentSize", "teacherSize", "featureSize", "negatives", "temperature", "momentum"],
  create: (o, adopt) => crdLoss(adopt(new ContrastMemory(o as CrdOptions))),
});
registerLoss("pkt", {
  summary: "PKT: KL between the batch's cosine-kernel conditional probabilities, mean over N^2 (weight 30000)",
  options: ["tap"],
  create: (o) => pktLoss(o),
});
registerLoss("dkd", {
  summary: "DKD: alpha * TCKD + beta * NCKD at temperature T, times T^2 (alpha 1, beta 8, T 4)",
  options: ["alpha", "beta", "temperature"],
  create: (o) => dkdLoss(o as DecoupledKDOptions),
});
