// Backbones by name, as timm does it: a registered base name maps to a factory, and a name may carry a width
// multiplier and an input size: `iresnet18-w0.25@56` is iresnet18 with a quarter of the channels on 56x56 inputs.
import * as torch from "../torch/index.js";
import type { Backbone, BackboneSpec } from "./backbones/backbone.js";
import { IResNet, IRESNET_LAYOUTS } from "./backbones/iresnet.js";
import { MobileFaceNet, MOBILEFACENET_LAYOUTS } from "./backbones/mobilefacenet.js";
import { MobileNetV2 } from "./backbones/mobilenetv2.js";

/** Options of createModel; a name's `-w` and `@` parts set widthMultiplier and inputSize. */
export type BackboneOptions = Partial<Omit<BackboneSpec, "name">>;

export interface ModelEntry {
  /** The base name (no `-w` or `@` part). */
  name: string;
  family: string;
  description: string;
  create(spec: BackboneSpec): Backbone;
}

export const DEFAULT_OPTIONS: Readonly<Required<BackboneOptions>> = {
  embeddingSize: 512,
  widthMultiplier: 1,
  inputSize: 112,
  dropout: 0,
};

const entries = new Map<string, ModelEntry>();
const variants: string[] = [];

/** Adds a base model; its variants by width and input size come with it. */
export function registerModel(entry: ModelEntry): void {
  if (entries.has(entry.name)) throw new Error(`registerModel: '${entry.name}' is already registered`);
  if (!/^[a-z][a-z0-9_]*$/.test(entry.name)) {
    throw new Error(`registerModel: '${entry.name}' must be lower-case letters, digits and '_' (no '-' or '@')`);
  }
  entries.set(entry.name, entry);
}

/** Lists a variant name (such as `mbf-w0.5@56`) among the models that listModels() shows. */
export function registerVariant(name: string): void {
  const spec = resolveSpec(name);
  if (spec.name !== name) throw new Error(`registerVariant: write '${name}' as '${spec.name}'`);
  if (!variants.includes(name)) variants.push(name);
}

/** The registered base models, then the registered variants. */
export function listModels(): string[] {
  return [...entries.keys(), ...variants];
}

export function modelEntry(name: string): ModelEntry {
  const base = parseName(name).base;
  const entry = entries.get(base);
  if (entry === undefined) {
    throw new Error(
      `unknown model '${name}': registered models are ${[...entries.keys()].join(", ")} ` +
        "(add '-w<multiplier>' and/or '@<input size>', as in 'iresnet18-w0.25@56')",
    );
  }
  return entry;
}

/** The complete options of a model name plus `options`, with the canonical name. */
export function resolveSpec(name: string, options: BackboneOptions = {}): BackboneSpec {
  const { base, fromName } = parseName(name);
  modelEntry(base);
  for (const key of ["widthMultiplier", "inputSize"] as const) {
    if (fromName[key] !== undefined && options[key] !== undefined && fromName[key] !== options[key]) {
      throw new Error(`model '${name}' sets ${key} ${fromName[key]}, but the options say ${options[key]}: keep one`);
    }
  }
  const o = { ...DEFAULT_OPTIONS, ...definedOnly(options), ...fromName };
  const bad = (what: string): never => {
    throw new RangeError(`model '${name}': ${what}`);
  };
  if (!Number.isInteger(o.embeddingSize) || o.embeddingSize < 1)
    bad(`embeddingSize must be a positive integer, got ${o.embeddingSize}`);
  if (!(o.widthMultiplier > 0 && Number.isFinite(o.widthMultiplier)))
    bad(`widthMultiplier must be > 0, got ${o.widthMultiplier}`);
  if (!Number.isInteger(o.inputSize) || o.inputSize < 16) bad(`inputSize must be an integer >= 16, got ${o.inputSize}`);
  if (!(o.dropout >= 0 && o.dropout < 1)) bad(`dropout must be in [0, 1), got ${o.dropout}`);
  const canonical =
    base +
    (o.widthMultiplier !== 1 ? `-w${o.widthMultiplier}` : "") +
    (o.inputSize !== DEFAULT_OPTIONS.inputSize ? `@${o.inputSize}` : "");
  return { name: canonical, ...o };
}

/** Builds a model by name (`mbf`, `iresnet50`, `iresnet18-w0.25@56`, ...), freshly initialized. */
export function createModel(name: string, options: BackboneOptions = {}): Backbone {
  const spec = resolveSpec(name, options);
  try {
    return modelEntry(name).create(spec);
  } catch (error) {
    throw new Error(`createModel('${spec.name}'): ${(error as Error).message}`, { cause: error });
  }
}

/** Runs `use` on a freshly built model inside a tidy scope, then frees the model. */
export function withModel<T>(name: string, options: BackboneOptions, use: (model: Backbone) => T): T {
  const model = createModel(name, options);
  try {
    return torch.tidy(() => use(model));
  } finally {
    model.dispose();
  }
}

function parseName(name: string): { base: string; fromName: BackboneOptions } {
  const match = /^([a-z][a-z0-9_]*)(?:-w(\d+(?:\.\d+)?))?(?:@(\d+))?$/.exec(name);
  if (match === null) {
    throw new Error(`'${name}' is not a model name: expected <model>[-w<multiplier>][@<input size>], as 'mbf-w0.5@64'`);
  }
  const [, base, w, size] = match;
  return {
    base: base!,
    fromName: {
      ...(w !== undefined ? { widthMultiplier: Number(w) } : {}),
      ...(size !== undefined ? { inputSize: Number(size) } : {}),
    },
  };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

// ---- the built-in models

for (const [name, layout] of Object.entries(IRESNET_LAYOUTS)) {
  registerModel({
    name,
    family: "iresnet",
    description: `arcface_torch IResNet, blocks [${layout.join(", ")}]`,
    create: (spec) => new IResNet(spec, layout),
  });
}
for (const [name, layout] of Object.entries(MOBILEFACENET_LAYOUTS)) {
  registerModel({
    name,
    family: "mobilefacenet",
    description: `arcface_torch MobileFaceNet, blocks (${layout.blocks.join(", ")}), scale ${layout.scale}`,
    create: (spec) => new MobileFaceNet(spec, layout),
  });
}
registerModel({
  name: "mobilenetv2",
  family: "mobilenetv2",
  description: "MobileNetV2 for 112x112 faces (final stride 16) with the GDC head",
  create: (spec) => new MobileNetV2(spec),
});

// CPU-sized variants: fewer channels and/or 56x56 or 64x64 inputs, for every family
for (const name of [
  "iresnet18-w0.5",
  "iresnet18-w0.25",
  "iresnet18@64",
  "iresnet18-w0.5@56",
  "iresnet18-w0.25@64",
  "iresnet18-w0.25@56",
  "iresnet34-w0.25@56",
  "iresnet50-w0.25@56",
  "iresnet100-w0.25@56",
  "mbf-w0.5",
  "mbf@64",
  "mbf@56",
  "mbf-w0.5@64",
  "mbf-w0.5@56",
  "mbf_large-w0.25@56",
  "mobilenetv2-w0.5",
  "mobilenetv2@64",
  "mobilenetv2-w0.5@56",
]) {
  registerVariant(name);
}
