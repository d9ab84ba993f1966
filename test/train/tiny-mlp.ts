// Backbones for the data-parallel tests. Without BatchNorm or dropout, N ranks of batch B compute exactly what one
// process of batch N x B does (up to float rounding), which BatchNorm's per-rank statistics break and SyncBatchNorm's
// global ones restore: the second model has a BatchNorm to tell them apart.
import * as torch from "../../src/torch/index.js";
import { Backbone, registerModel, type BackboneSpec } from "../../src/models/index.js";

class TinyMlp extends Backbone {
  readonly featureInfo = [];
  readonly hidden: torch.nn.Linear;
  readonly norm: torch.nn.BatchNorm1d | null;
  readonly out: torch.nn.Linear;

  constructor(spec: BackboneSpec, batchNorm: boolean) {
    super(spec);
    const pixels = 3 * spec.inputSize * spec.inputSize;
    this.hidden = this.registerModule("hidden", new torch.nn.Linear(pixels, 24));
    this.norm = batchNorm ? this.registerModule("norm", new torch.nn.BatchNorm1d(24)) : null;
    this.out = this.registerModule("out", new torch.nn.Linear(24, spec.embeddingSize));
  }

  protected computeFeatures(input: torch.Tensor): { stages: Record<string, torch.Tensor>; embedding: torch.Tensor } {
    const hidden = this.hidden.forward(input.flatten(1));
    return { stages: {}, embedding: this.out.forward((this.norm?.forward(hidden) ?? hidden).tanh()) };
  }
}

export const TINY_MLP = "dp_mlp";

export const TINY_BN_MLP = "dp_bn_mlp";

registerModel({ name: TINY_MLP, family: "test", description: "test only", create: (spec) => new TinyMlp(spec, false) });
registerModel({
  name: TINY_BN_MLP,
  family: "test",
  description: "test only",
  create: (spec) => new TinyMlp(spec, true),
});
