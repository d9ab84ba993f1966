// Losses by name, with a weight, combined into one objective: `combineLosses([{ name: "fo", weight: 5 }])`.
// A loss's definition (defineLoss) is the single source of what facekd knows about it: its options with types,
// defaults and docs, its kind, and the inputs it reads. Each loss keeps the reduction its source's published
// weights assume (embedding.ts explains ReFO's), so a weight taken from a paper means there what it meant there.
import { z } from "zod";
import * as torch from "../torch/index.js";
import type { ProcessGroup } from "../torch/distributed.js";
import type { Tensor } from "../torch/index.js";
import { checkConfig } from "../config/index.js";
import type { Loss, LossContext } from "./context.js";
import type { LossSpec } from "./loss-spec.js";

type AnyModule = torch.nn.Module<never[], unknown>;
type Options = Record<string, unknown>;

export type { LossSpec };

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

export type LossKind = "classification" | "embedding" | "logit" | "feature" | "relation";
/** What a loss reads from its context: a model's outputs, the labels, or embeddings precomputed over the dataset. */
export type LossInput = "embedding" | "logits" | "features" | "classifier" | "labels" | "indices" | "precomputed";
type Adopt = <M extends AnyModule>(module: M) => M;

/** Where the losses are built: a data-parallel run's process group shards the margin heads' class centres. */
export interface LossBuild {
  group?: ProcessGroup;
}

/** Everything facekd knows about a loss, registered beside its code with `defineLoss`. */
export interface LossDefinition<S extends z.ZodObject = z.ZodObject> {
  name: string;
  /** One line for listings and help texts. */
  summary: string;
  kind: LossKind;
  /** The inputs it reads: the trainer computes logits only when a term reads them, and so on. */
  reads: readonly LossInput[];
  /** Its options: types, defaults and docs (`.describe()`); any other key is an error. */
  options: S;
  /** Makes the loss from validated options; `adopt` registers a learned part under the term's label. */
  create(options: z.output<S>, adopt: Adopt, build: LossBuild): Loss;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each entry has its own options type
const registry = new Map<string, LossDefinition<any>>();

/** Adds (or replaces) a loss. Each loss file registers its own at its end; distill/index.ts imports them all. */
export function defineLoss<S extends z.ZodObject>(definition: LossDefinition<S>): void {
  registry.set(definition.name, definition);
}

/** The registered loss `name`, or an error listing the known ones. */
export function lossDefinition(name: string): LossDefinition {
  const entry = registry.get(name);
  if (!entry) throw new Error(`unknown loss '${name}': use one of ${[...registry.keys()].join(", ")}`);
  return entry;
}

export interface LossListing extends Omit<LossDefinition, "options" | "create"> {
  /** The option names. */
  options: string[];
}

export function listLosses(): LossListing[] {
  return [...registry.values()].map(({ name, summary, kind, reads, options }) => ({
    name,
    summary,
    kind,
    reads,
    options: Object.keys(options.shape),
  }));
}

/** The registered losses that transfer knowledge between models: every one but the classification terms. */
export function distillationLosses(): string[] {
  return [...registry.values()].filter((e) => e.kind !== "classification").map((e) => e.name);
}

/** Whether any term of `specs` reads `input` (logits are computed at each step only then). */
export function readsInput(specs: readonly Pick<LossSpec, "name">[], input: LossInput): boolean {
  return specs.some((spec) => lossDefinition(spec.name).reads.includes(input));
}

/** The options of a term, validated by its schema (defaults filled in), or an error naming the term and key. */
function parseOptions(entry: LossDefinition, label: string, options: Options): Options {
  const allowed = Object.keys(entry.options.shape);
  const unknown = Object.keys(options).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) {
    throw new Error(
      `loss '${label}': unknown option ${unknown.map((k) => `'${k}'`).join(", ")} ` +
        `(${entry.name} takes ${allowed.length ? allowed.join(", ") : "no options"})`,
    );
  }
  const checked = checkConfig(entry.options, options);
  if (!checked.ok) {
    throw new RangeError(checked.problems.map(({ key, problem }) => `loss '${label}': ${key} ${problem}`).join("; "));
  }
  return checked.value as Options;
}

/** The objective sum(weight_i * loss_i) of `specs`. */
export function combineLosses(specs: readonly LossSpec[], where: LossBuild = {}): CombinedLoss {
  if (specs.length === 0) throw new Error("combineLosses: no losses given (name at least one, such as 'fo')");
  const labels = specs.map((spec) => spec.label ?? spec.name);
  const repeated = labels.find((label, i) => labels.indexOf(label) !== i);
  if (repeated !== undefined) throw new Error(`two terms are labelled '${repeated}': give each its own label`);
  const module = new LossModules();
  const build = (spec: LossSpec, i: number) => {
    const entry = lossDefinition(spec.name);
    const label = labels[i]!;
    const weight = spec.weight ?? 1;
    if (!Number.isFinite(weight)) {
      throw new RangeError(`loss '${label}': weight must be a finite number, got ${weight}`);
    }
    if (label === "" || label.includes(".")) {
      throw new RangeError(`loss label '${label}' must be non-empty and without dots (it prefixes state-dict keys)`);
    }
    const loss = entry.create(parseOptions(entry, label, spec.options ?? {}), (m) => module.add(label, m), where);
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
