// What every face-recognition backbone shares: its resolved options, an input check, and named feature taps.
import * as torch from "../../torch/index.js";
import type { Tensor } from "../../torch/index.js";

/** The options a backbone is built from, every one resolved (see the registry for defaults and names). */
export interface BackboneSpec {
  /** The canonical registered name, such as `iresnet18-w0.25@56`. */
  name: string;
  embeddingSize: number;
  /** Multiplies every layer's channel count (1 builds arcface_torch's network). */
  widthMultiplier: number;
  /** Input height and width in pixels (square inputs, as insightface's aligned 112x112 crops). */
  inputSize: number;
  /** Dropout probability before the embedding layer (training only). */
  dropout: number;
}

/** One intermediate map a backbone exposes: its name, channel count and stride relative to the input. */
export interface StageInfo {
  name: string;
  channels: number;
  stride: number;
}

/** The maps of `featureInfo` by name (each [N, channels, size/stride, size/stride]) and the embedding [N, D]. */
export interface BackboneFeatures {
  stages: Record<string, Tensor>;
  embedding: Tensor;
}

/** Names of the four taps every family exposes, at strides 2, 4, 8 and 16 (56, 28, 14, 7 pixels at 112x112). */
export const STAGE_NAMES = ["stage1", "stage2", "stage3", "stage4"] as const;

export abstract class Backbone extends torch.nn.Module {
  /** The intermediate maps `forwardFeatures` returns, in network order. */
  abstract readonly featureInfo: readonly StageInfo[];

  constructor(readonly spec: BackboneSpec) {
    super();
  }

  get embeddingSize(): number {
    return this.spec.embeddingSize;
  }

  /** Runs the network on [N, 3, size, size] and returns the intermediate maps with the embedding. */
  forwardFeatures(input: Tensor): BackboneFeatures {
    this.checkInput(input);
    return this.computeFeatures(input, true);
  }

  /** The embedding [N, embeddingSize] (intermediate maps are freed as soon as they have been used). */
  forward(input: Tensor): Tensor {
    this.checkInput(input);
    return this.computeFeatures(input, false).embedding;
  }

  /** The network; `stages` stays empty unless `withStages`. */
  protected abstract computeFeatures(input: Tensor, withStages: boolean): BackboneFeatures;

  private checkInput(input: Tensor): void {
    const shape = input.shape;
    const size = this.spec.inputSize;
    if (shape.length !== 4 || shape[1] !== 3 || shape[2] !== size || shape[3] !== size) {
      throw new RangeError(
        `${this.spec.name}: expected input [N, 3, ${size}, ${size}], got [${shape.join(", ")}]` +
          " (resize the faces, or pick the model variant for this size, such as `@56` or `@64`)",
      );
    }
  }
}

/** A layer's channel count under a width multiplier (at least 1). */
export function scaleChannels(channels: number, widthMultiplier: number): number {
  return Math.max(1, Math.round(channels * widthMultiplier));
}

/** The side of the map after `halvings` stride-2 convolutions (kernel 3, padding 1) on a square input. */
export function mapSize(inputSize: number, halvings: number): number {
  let size = inputSize;
  for (let i = 0; i < halvings; i++) size = Math.ceil(size / 2);
  return size;
}
