// IResNet (insightface arcface_torch's iresnet.py): the layer layout, state-dict names and initialization of
// arcface_torch, so its `backbone.pth` files load as they are. A width multiplier scales every channel count, and
// the embedding layer's input follows the input size (512 x 7 x 7 at 112x112).
import * as torch from "../../torch/index.js";
import type { Tensor } from "../../torch/index.js";
import { pipe, type Layer } from "../../torch/nn/pipe.js";

import {
  Backbone,
  mapSize,
  scaleChannels,
  STAGE_NAMES,
  type BackboneFeatures,
  type BackboneSpec,
  type StageInfo,
} from "./backbone.js";

const flatten: Layer = { forward: (x) => x.flatten(1) };

const { nn } = torch;

/** Residual blocks per stage. */
export type IResNetLayout = readonly [number, number, number, number];

export const IRESNET_LAYOUTS = {
  iresnet18: [2, 2, 2, 2],
  iresnet34: [3, 4, 6, 3],
  iresnet50: [3, 4, 14, 3],
  iresnet100: [3, 13, 30, 3],
  iresnet200: [6, 26, 60, 6],
} as const satisfies Record<string, IResNetLayout>;

const STAGE_WIDTHS = [64, 128, 256, 512] as const;

const conv3x3 = (inC: number, outC: number, stride = 1): torch.nn.Conv2d =>
  new nn.Conv2d(inC, outC, 3, { stride, padding: 1, bias: false });

/** The improved residual block: BN, conv3x3, BN, PReLU, conv3x3 (stride), BN, plus the (downsampled) input. */
class IBasicBlock extends nn.Module {
  readonly bn1: torch.nn.BatchNorm2d;
  readonly conv1: torch.nn.Conv2d;
  readonly bn2: torch.nn.BatchNorm2d;
  readonly prelu: torch.nn.PReLU;
  readonly conv2: torch.nn.Conv2d;
  readonly bn3: torch.nn.BatchNorm2d;
  readonly downsample: torch.nn.Sequential | null;

  constructor(inC: number, outC: number, stride: number) {
    super();
    this.bn1 = this.registerModule("bn1", new nn.BatchNorm2d(inC));
    this.conv1 = this.registerModule("conv1", conv3x3(inC, outC));
    this.bn2 = this.registerModule("bn2", new nn.BatchNorm2d(outC));
    this.prelu = this.registerModule("prelu", new nn.PReLU(outC));
    this.conv2 = this.registerModule("conv2", conv3x3(outC, outC, stride));
    this.bn3 = this.registerModule("bn3", new nn.BatchNorm2d(outC));
    this.downsample =
      stride !== 1 || inC !== outC
        ? this.registerModule(
            "downsample",
            new nn.Sequential(new nn.Conv2d(inC, outC, 1, { stride, bias: false }), new nn.BatchNorm2d(outC)),
          )
        : null;
  }

  forward(x: Tensor): Tensor {
    const out = pipe(x, [this.bn1, this.conv1, this.bn2, this.prelu, this.conv2, this.bn3]);
    if (this.downsample === null) return out.add_(x); // in place, as arcface_torch's `out += identity`
    const identity = pipe(x, this.downsample.layers);
    out.add_(identity);
    identity.dispose();
    return out;
  }
}

export class IResNet extends Backbone {
  readonly conv1: torch.nn.Conv2d;
  readonly bn1: torch.nn.BatchNorm2d;
  readonly prelu: torch.nn.PReLU;
  /** layer1 .. layer4 */
  readonly residualStages: torch.nn.Sequential[];
  readonly bn2: torch.nn.BatchNorm2d;
  readonly dropout: torch.nn.Dropout;
  readonly fc: torch.nn.Linear;
  /** BatchNorm1d on the embedding, its weight frozen at 1 as in arcface_torch. */
  readonly features: torch.nn.BatchNorm1d;
  readonly featureInfo: readonly StageInfo[];

  constructor(spec: BackboneSpec, layout: IResNetLayout) {
    super(spec);
    const widths = STAGE_WIDTHS.map((c) => scaleChannels(c, spec.widthMultiplier)) as [number, number, number, number];
    this.conv1 = this.registerModule("conv1", conv3x3(3, widths[0]));
    this.bn1 = this.registerModule("bn1", new nn.BatchNorm2d(widths[0]));
    this.prelu = this.registerModule("prelu", new nn.PReLU(widths[0]));
    let inC = widths[0];
    this.residualStages = widths.map((outC, i) => {
      const blocks = Array.from(
        { length: layout[i]! },
        (_, b) => new IBasicBlock(b === 0 ? inC : outC, outC, b === 0 ? 2 : 1),
      );
      inC = outC;
      return this.registerModule(`layer${i + 1}`, new nn.Sequential(...blocks));
    });
    this.bn2 = this.registerModule("bn2", new nn.BatchNorm2d(inC));
    this.dropout = this.registerModule("dropout", new nn.Dropout(spec.dropout));
    const side = mapSize(spec.inputSize, STAGE_WIDTHS.length);
    this.fc = this.registerModule("fc", new nn.Linear(inC * side * side, spec.embeddingSize));
    this.features = this.registerModule("features", new nn.BatchNorm1d(spec.embeddingSize));
    this.features.weight!.requiresGrad_(false);
    this.featureInfo = STAGE_NAMES.map((name, i) => ({ name, channels: widths[i]!, stride: 2 ** (i + 1) }));
    for (const [, m] of this.namedModules()) if (m instanceof nn.Conv2d) nn.init.normal_(m.weight, 0, 0.1);
  }

  protected computeFeatures(input: Tensor, withStages: boolean): BackboneFeatures {
    const stageLayers = this.residualStages.map((stage): Layer => ({ forward: (x) => pipe(x, stage.layers) }));
    const first = 3; // layer1 follows conv1, bn1 and prelu
    const stages: Record<string, Tensor> = {};
    const embedding = pipe(
      input,
      [this.conv1, this.bn1, this.prelu, ...stageLayers, this.bn2, flatten, this.dropout, this.fc, this.features],
      (i, output) => {
        const name = STAGE_NAMES[i - first];
        if (!withStages || name === undefined) return false;
        stages[name] = output;
        return true;
      },
    );
    return { stages, embedding };
  }
}
