// MobileFaceNet as insightface arcface_torch builds it (mobilefacenet.py): `mbf` is blocks (1, 4, 6, 2) at
// scale 2, `mbf_large` blocks (2, 8, 12, 4) at scale 4. Same layers, names and initialization, so arcface_torch
// checkpoints load as they are; a width multiplier scales every channel count (scale-dependent or not).
import { scaleChannels, type BackboneSpec } from "./backbone.js";
import { ConvBlock, DepthWise, Residual } from "./blocks.js";
import { GdcNet, type GdcNetBody } from "./gdc-net.js";

export interface MobileFaceNetLayout {
  /** Residual blocks of the four stages; a first stage of 1 is a single grouped 3x3 ConvBlock instead. */
  blocks: readonly [number, number, number, number];
  /** Multiplies the main channel counts (64 and 128), not the expansions. */
  scale: number;
}

export const MOBILEFACENET_LAYOUTS = {
  mbf: { blocks: [1, 4, 6, 2], scale: 2 },
  mbf_large: { blocks: [2, 8, 12, 4], scale: 4 },
} as const satisfies Record<string, MobileFaceNetLayout>;

export class MobileFaceNet extends GdcNet {
  constructor(spec: BackboneSpec, layout: MobileFaceNetLayout) {
    super(spec, mobileFaceNetBody(spec, layout));
  }
}

function mobileFaceNetBody(spec: BackboneSpec, { blocks, scale }: MobileFaceNetLayout): GdcNetBody {
  const c = (n: number): number => scaleChannels(n, spec.widthMultiplier);
  const [narrow, wide] = [c(64 * scale), c(128 * scale)];
  const first =
    blocks[0] === 1
      ? new ConvBlock(narrow, narrow, { kernel: 3, padding: 1, groups: c(64) })
      : new Residual(narrow, blocks[0], c(128));
  const layers = [
    new ConvBlock(3, narrow, { kernel: 3, stride: 2, padding: 1 }), // 56x56 at 112
    first,
    new DepthWise(narrow, narrow, { hidden: c(128), stride: 2 }), // 28x28
    new Residual(narrow, blocks[1], c(128)),
    new DepthWise(narrow, wide, { hidden: c(256), stride: 2 }), // 14x14
    new Residual(wide, blocks[2], c(256)),
    new DepthWise(wide, wide, { hidden: c(512), stride: 2 }), // 7x7
    new Residual(wide, blocks[3], c(256)),
  ];
  return {
    layers,
    taps: [
      { index: 1, channels: narrow },
      { index: 3, channels: narrow },
      { index: 5, channels: wide },
    ],
    bodyChannels: wide,
    headChannels: c(512),
    activation: "prelu",
  };
}
