// MobileNetV2 (Sandler et al. 2018) for 112x112 faces: the standard inverted-residual stages with ReLU6, one
// stride-2 stage turned to stride 1 so the final map is 7x7 (stride 16, like IResNet and MobileFaceNet), and
// MobileFaceNet's head instead of the classifier: a 1x1 ConvBlock to 512 channels (`conv_sep`) and the GDC
// embedding head (`features`). No Python original defines these key names; they mirror MobileFaceNet's.
import type * as torch from "../../torch/index.js";
import { scaleChannels, type BackboneSpec } from "./backbone.js";
import { ConvBlock, DepthWise } from "./blocks.js";
import { GdcNet, type GdcNetBody } from "./gdc-net.js";

// [expansion t, channels c, blocks n, first stride s]; ImageNet's MobileNetV2 has s = 2 in the 160-channel stage
const STAGES = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 1],
  [6, 320, 1, 1],
] as const;

export class MobileNetV2 extends GdcNet {
  constructor(spec: BackboneSpec) {
    super(spec, mobileNetV2Body(spec));
  }
}

function mobileNetV2Body(spec: BackboneSpec): GdcNetBody {
  const c = (n: number): number => scaleChannels(n, spec.widthMultiplier);
  let inC = c(32);
  const layers: torch.nn.Module[] = [new ConvBlock(3, inC, { kernel: 3, stride: 2, padding: 1, activation: "relu6" })];
  const stageEnds: { index: number; channels: number }[] = [];
  for (const [t, channels, n, s] of STAGES) {
    const outC = c(channels);
    for (let i = 0; i < n; i++) {
      const stride = i === 0 ? s : 1;
      const residual = stride === 1 && inC === outC;
      layers.push(
        new DepthWise(inC, outC, { hidden: inC * t, stride, residual, activation: "relu6", expand: t !== 1 }),
      );
      inC = outC;
    }
    stageEnds.push({ index: layers.length - 1, channels: outC });
  }
  // the ends of the 16-, 24- and 32-channel stages: 56, 28 and 14 pixels at 112
  return { layers, taps: stageEnds.slice(0, 3), bodyChannels: inC, headChannels: c(512), activation: "relu6" };
}
