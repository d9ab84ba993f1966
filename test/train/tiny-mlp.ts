// A backbone without BatchNorm or dropout for the data-parallel tests: N ranks of batch B then compute exactly what
// one process of batch N x B does (up to float rounding), which BatchNorm's per-rank statistics would break.
import * as torch from "../../src/torch/index.js";
import { Backbone, registerModel, type BackboneSpec } from "../../src/models/index.js";

class TinyMlp extends Backbone {
  readonly featureInfo = [];
  readonly hidden: torch.nn.Linear;
  readonly out: torch.nn.Linear;

  constructor(spec: BackboneSpec) {
    super(spec);
    const pixels = 3 * spec.inputSize * spec.inputSize;
    this.hidden = this.registerModule("hidden", new torch.nn.Linear(pixels, 24));
    this.out = this.registerModule("out", new torch.nn.Linear(24, spec.embeddingSize));
  }

  protected computeFeatures(input: torch.Tensor): { stages: Record<string, torch.Tensor>; embedding: torch.Tensor } {
    return { stages: {}, embedding: this.out.forward(this.hidden.forward(input.flatten(1)).tanh()) };
  }
}

export const TINY_MLP = "dp_mlp";

registerModel({ name: TINY_MLP, family: "test", description: "test only", create: (spec) => new TinyMlp(spec) });
