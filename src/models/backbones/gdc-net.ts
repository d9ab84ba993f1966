// The shape shared by MobileFaceNet and MobileNetV2 here: a Sequential body `layers`, a 1x1 ConvBlock `conv_sep`
// and the GDC embedding head `features` (arcface_torch's names), with taps after chosen body layers.
import * as torch from "../../torch/index.js";
import type { Tensor } from "../../torch/index.js";
import {
  Backbone,
  mapSize,
  STAGE_NAMES,
  type BackboneFeatures,
  type BackboneSpec,
  type StageInfo,
} from "./backbone.js";
import { ConvBlock, GDC, type Activation } from "./blocks.js";
import { pipe } from "../../torch/nn/pipe.js";

const { nn } = torch;

interface Tap {
  index: number;
  channels: number;
}

export interface GdcNetBody {
  layers: torch.nn.Module[];
  /** The three body layers after which stage1..stage3 are tapped (stage4 is `conv_sep`), with their channels. */
  taps: readonly Tap[];
  /** Channels of the body's output. */
  bodyChannels: number;
  /** Channels of `conv_sep`'s output and the GDC head. */
  headChannels: number;
  activation: Activation;
}

export abstract class GdcNet extends Backbone {
  readonly layers: torch.nn.Sequential;
  readonly conv_sep: ConvBlock;
  readonly features: GDC;
  readonly featureInfo: readonly StageInfo[];
  readonly #tapNames: Map<number, string>;

  constructor(spec: BackboneSpec, body: GdcNetBody) {
    super(spec);
    const { layers, taps, bodyChannels, headChannels, activation } = body;
    if (taps.length !== STAGE_NAMES.length - 1) throw new Error(`GdcNet: expected 3 taps, got ${taps.length}`);
    this.layers = this.registerModule("layers", new nn.Sequential(...layers));
    this.conv_sep = this.registerModule("conv_sep", new ConvBlock(bodyChannels, headChannels, { activation }));
    const side = mapSize(spec.inputSize, STAGE_NAMES.length);
    this.features = this.registerModule("features", new GDC(headChannels, spec.embeddingSize, side, spec.dropout));
    this.#tapNames = new Map(taps.map((t, i) => [t.index, STAGE_NAMES[i]!]));
    this.featureInfo = STAGE_NAMES.map((name, i) => ({
      name,
      channels: taps[i]?.channels ?? headChannels,
      stride: 2 ** (i + 1),
    }));
    // arcface_torch's MobileFaceNet initialization
    for (const [, m] of this.namedModules()) {
      if (m instanceof nn.Conv2d || m instanceof nn.Linear) {
        nn.init.kaimingNormal_(m.weight, { mode: "fan_out", nonlinearity: "relu" });
      }
    }
  }

  protected computeFeatures(input: Tensor, withStages: boolean): BackboneFeatures {
    const stages: Record<string, Tensor> = {};
    const body = this.layers.layers;
    const embedding = pipe(input, [...body, this.conv_sep, this.features], (i, output) => {
      const name = i === body.length ? STAGE_NAMES[3] : this.#tapNames.get(i);
      if (!withStages || name === undefined) return false;
      stages[name] = output;
      return true;
    });
    return { stages, embedding };
  }
}
