// The standard layers, with PyTorch's parameter names and default initialization.
import * as F from "./functional.js";
import { pipe } from "./pipe.js";
import * as init from "./init.js";
import { Module } from "./module.js";
import type { Parameter } from "./parameter.js";
import { empty, ones, zeros, full, scalar } from "../creation.js";
import { noGrad } from "../autograd.js";
import type { Tensor } from "../tensor.js";
import { syncedBatchNorm, type StatisticsGroup, type Synchronizable } from "./sync-batch-norm.js";

type Pair = number | readonly [number, number];

export class Identity extends Module {
  forward(input: Tensor): Tensor {
    return input;
  }
}

export class Flatten extends Module {
  constructor(
    readonly startDim = 1,
    readonly endDim = -1,
  ) {
    super();
  }
  forward(input: Tensor): Tensor {
    return input.flatten(this.startDim, this.endDim);
  }
}

export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (p < 0 || p > 1) throw new RangeError(`Dropout: p must be in [0, 1], got ${p}`);
  }
  forward(input: Tensor): Tensor {
    return F.dropout(input, this.p, this.training);
  }
}

// PyTorch's default for Conv2d and Linear: kaiming_uniform(a=sqrt(5)) weights, uniform(+-1/sqrt(fan_in)) bias.
function resetAffine(weight: Parameter, bias: Parameter | null): void {
  init.kaimingUniform_(weight, { a: Math.sqrt(5) });
  if (bias) {
    const bound = 1 / Math.sqrt(init.fans(weight)[0]);
    init.uniform_(bias, -bound, bound);
  }
}

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
}

export class Conv2d extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  readonly options: Required<Omit<Conv2dOptions, "bias">>;

  constructor(inChannels: number, outChannels: number, kernelSize: Pair, options: Conv2dOptions = {}) {
    super();
    const groups = options.groups ?? 1;
    if (inChannels % groups !== 0 || outChannels % groups !== 0) {
      throw new RangeError(
        `Conv2d: channels (${inChannels} -> ${outChannels}) must be divisible by groups (${groups})`,
      );
    }
    const [kh, kw] = typeof kernelSize === "number" ? [kernelSize, kernelSize] : kernelSize;
    this.options = {
      stride: options.stride ?? 1,
      padding: options.padding ?? 0,
      dilation: options.dilation ?? 1,
      groups,
    };
    this.weight = this.registerParameter("weight", empty([outChannels, inChannels / groups, kh, kw]));
    this.bias = options.bias === false ? null : this.registerParameter("bias", empty([outChannels]));
    resetAffine(this.weight, this.bias);
  }

  forward(input: Tensor): Tensor {
    return F.conv2d(input, this.weight, this.bias, this.options);
  }
}

export class Linear extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;

  constructor(inFeatures: number, outFeatures: number, { bias = true } = {}) {
    super();
    this.weight = this.registerParameter("weight", empty([outFeatures, inFeatures]));
    this.bias = bias ? this.registerParameter("bias", empty([outFeatures])) : null;
    resetAffine(this.weight, this.bias);
  }

  forward(input: Tensor): Tensor {
    return F.linear(input, this.weight, this.bias);
  }
}

export class PReLU extends Module {
  readonly weight: Parameter;
  constructor(numParameters = 1, initValue = 0.25) {
    super();
    this.weight = this.registerParameter("weight", full([numParameters], initValue));
  }
  forward(input: Tensor): Tensor {
    return F.prelu(input, this.weight);
  }
}

export interface BatchNormOptions {
  eps?: number;
  /** Running-statistics momentum; null means a cumulative moving average, as in PyTorch. */
  momentum?: number | null;
  affine?: boolean;
  trackRunningStats?: boolean;
}

abstract class BatchNorm extends Module implements Synchronizable {
  readonly weight: Parameter | null;
  readonly bias: Parameter | null;
  readonly runningMean: Tensor | null;
  readonly runningVar: Tensor | null;
  readonly numBatchesTracked: Tensor | null;
  readonly eps: number;
  readonly momentum: number | null;

  protected abstract readonly expectedDims: readonly number[];
  // set by synchronizeBatchNorm: training normalizes with the statistics of every rank's batch
  #group: StatisticsGroup | null = null;

  constructor(numFeatures: number, options: BatchNormOptions = {}) {
    super();
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum === undefined ? 0.1 : options.momentum;
    const affine = options.affine ?? true;
    this.weight = affine ? this.registerParameter("weight", ones([numFeatures])) : null;
    this.bias = affine ? this.registerParameter("bias", zeros([numFeatures])) : null;
    const track = options.trackRunningStats ?? true;
    this.runningMean = track ? this.registerBuffer("running_mean", zeros([numFeatures])) : null;
    this.runningVar = track ? this.registerBuffer("running_var", ones([numFeatures])) : null;
    this.numBatchesTracked = track ? this.registerBuffer("num_batches_tracked", scalar(0, { dtype: "int64" })) : null;
  }

  forward(input: Tensor): Tensor {
    if (!this.expectedDims.includes(input.ndim)) {
      throw new RangeError(
        `${this.constructor.name}: expected ${this.expectedDims.join(" or ")}-d input, got shape [${input.shape.join(", ")}]`,
      );
    }
    let factor = this.momentum ?? 0;
    if (this.training && this.numBatchesTracked) {
      noGrad(() => this.numBatchesTracked!.add_(1));
      // reading the count synchronizes a GPU, so only the cumulative average does it
      if (this.momentum === null) factor = 1 / this.numBatchesTracked.item();
    }
    if (this.training && this.#group !== null && this.#group.worldSize > 1) {
      return syncedBatchNorm(input, this, factor, this.#group);
    }
    const useBatchStats = this.training || this.runningMean === null;
    return F.batchNorm(input, this.runningMean, this.runningVar, {
      weight: this.weight,
      bias: this.bias,
      training: useBatchStats,
      momentum: factor,
      eps: this.eps,
    });
  }

  synchronize(group: StatisticsGroup | null): void {
    this.#group = group;
  }
}

export class BatchNorm1d extends BatchNorm {
  protected readonly expectedDims = [2, 3];
}

export class BatchNorm2d extends BatchNorm {
  protected readonly expectedDims = [4];
}

/** Children named "0", "1", ...; forward runs them in order. */
export class Sequential extends Module {
  readonly layers: Module[];
  constructor(...layers: Module[]) {
    super();
    this.layers = layers;
    layers.forEach((m, i) => this.registerModule(String(i), m as unknown as Module<never[], unknown>));
  }
  forward(input: Tensor): Tensor {
    return pipe(input, this.layers);
  }
}

/** Holds modules under "0", "1", ... without a forward of its own. */
export class ModuleList<M extends Module<never[], unknown>> extends Module<[], never> {
  readonly items: M[];
  constructor(items: M[]) {
    super();
    this.items = items;
    items.forEach((m, i) => this.registerModule(String(i), m));
  }
  forward(): never {
    throw new Error("ModuleList has no forward(); call its items");
  }
}
