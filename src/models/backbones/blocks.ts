// The building blocks of the mobile backbones (MobileFaceNet, MobileNetV2), with arcface_torch's module names:
// each block keeps its layers in a Sequential called `layers`, so keys read `layers.0.layers.0.weight`.
import * as torch from "../../torch/index.js";
import type { Tensor } from "../../torch/index.js";
import { pipe, type Layer } from "../../torch/nn/pipe.js";

const { nn } = torch;

export type Activation = "prelu" | "relu6";

class ReLU6 extends nn.Module {
  forward(x: Tensor): Tensor {
    return x.clamp(0, 6);
  }
}

export interface ConvOptions {
  kernel?: number;
  stride?: number;
  padding?: number;
  groups?: number;
}

const conv = (inC: number, outC: number, o: ConvOptions): torch.nn.Conv2d =>
  new nn.Conv2d(inC, outC, o.kernel ?? 1, {
    stride: o.stride ?? 1,
    padding: o.padding ?? 0,
    groups: o.groups ?? 1,
    bias: false,
  });

/** Convolution, BatchNorm2d and an activation (PReLU per channel, or ReLU6). */
export class ConvBlock extends nn.Module {
  readonly layers: torch.nn.Sequential;
  constructor(inC: number, outC: number, o: ConvOptions & { activation?: Activation } = {}) {
    super();
    const activation = o.activation === "relu6" ? new ReLU6() : new nn.PReLU(outC);
    this.layers = this.registerModule(
      "layers",
      new nn.Sequential(conv(inC, outC, o), new nn.BatchNorm2d(outC), activation),
    );
  }
  forward(x: Tensor): Tensor {
    return pipe(x, this.layers.layers);
  }
}

/** Convolution and BatchNorm2d, no activation. */
export class LinearBlock extends nn.Module {
  readonly layers: torch.nn.Sequential;
  constructor(inC: number, outC: number, o: ConvOptions = {}) {
    super();
    this.layers = this.registerModule("layers", new nn.Sequential(conv(inC, outC, o), new nn.BatchNorm2d(outC)));
  }
  forward(x: Tensor): Tensor {
    return pipe(x, this.layers.layers);
  }
}

export interface DepthWiseOptions {
  /** Channels of the depthwise convolution (arcface_torch calls them `groups`). */
  hidden: number;
  stride?: number;
  residual?: boolean;
  activation?: Activation;
  /** Whether a 1x1 convolution expands the input to `hidden` channels first (MobileNetV2 omits it at t = 1). */
  expand?: boolean;
}

/** The inverted bottleneck: 1x1 expansion, 3x3 depthwise (stride), linear 1x1 projection, optional shortcut. */
export class DepthWise extends nn.Module {
  readonly layers: torch.nn.Sequential;
  readonly residual: boolean;
  constructor(inC: number, outC: number, o: DepthWiseOptions) {
    super();
    const { hidden, activation = "prelu", expand = true } = o;
    if (!expand && hidden !== inC)
      throw new RangeError(`DepthWise: without expansion hidden (${hidden}) must equal inC (${inC})`);
    this.residual = o.residual ?? false;
    const dw = new ConvBlock(hidden, hidden, {
      kernel: 3,
      stride: o.stride ?? 1,
      padding: 1,
      groups: hidden,
      activation,
    });
    const project = new LinearBlock(hidden, outC);
    const layers = expand ? [new ConvBlock(inC, hidden, { activation }), dw, project] : [dw, project];
    this.layers = this.registerModule("layers", new nn.Sequential(...layers));
  }
  forward(x: Tensor): Tensor {
    const y = pipe(x, this.layers.layers);
    return this.residual ? y.add_(x) : y; // in place, as nothing needs the BatchNorm output itself
  }
}

/** `blocks` stride-1 residual DepthWise blocks on `channels` channels. */
export class Residual extends nn.Module {
  readonly layers: torch.nn.Sequential;
  constructor(channels: number, blocks: number, hidden: number) {
    super();
    const items = Array.from({ length: blocks }, () => new DepthWise(channels, channels, { hidden, residual: true }));
    this.layers = this.registerModule("layers", new nn.Sequential(...items));
  }
  forward(x: Tensor): Tensor {
    return pipe(x, this.layers.layers);
  }
}

/**
 * The global depthwise convolution head: a `kernel`x`kernel` depthwise LinearBlock over the whole final map,
 * flatten, dropout (outside `layers`, so arcface_torch's keys `layers.2`, `layers.3` stay), a bias-free linear
 * layer to the embedding and BatchNorm1d.
 */
export class GDC extends nn.Module {
  readonly layers: torch.nn.Sequential;
  readonly dropout: torch.nn.Dropout;
  readonly #order: Layer[];
  constructor(channels: number, embeddingSize: number, kernel: number, dropout: number) {
    super();
    const pool = new LinearBlock(channels, channels, { kernel, groups: channels });
    const flatten = new nn.Flatten();
    const linear = new nn.Linear(channels, embeddingSize, { bias: false });
    const bn = new nn.BatchNorm1d(embeddingSize);
    this.layers = this.registerModule("layers", new nn.Sequential(pool, flatten, linear, bn));
    this.dropout = this.registerModule("dropout", new nn.Dropout(dropout)); // no state-dict entries
    this.#order = [pool, flatten, this.dropout, linear, bn];
  }
  forward(x: Tensor): Tensor {
    return pipe(x, this.#order);
  }
}
