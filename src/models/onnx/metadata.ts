// What an exported file tells its user in metadata_props: how to prepare the input and what comes out.
import type { Backbone } from "../backbones/backbone.js";

/** metadata_props keys of facekd's ONNX files; ONNX teachers read the same keys for their input options. */
export const ONNX_METADATA = {
  model: "facekd.model",
  spec: "facekd.spec",
  color: "input.color",
  layout: "input.layout",
  size: "input.size",
  mean: "input.mean",
  std: "input.std",
  normalization: "input.normalization",
  embeddingSize: "embedding.size",
} as const;

/** The metadata of `model`'s export: RGB, NCHW, (x - 127.5) / 127.5 on 0..255 pixels, its size and embedding. */
export function metadataOf(model: Backbone): Record<string, string> {
  const size = model.spec.inputSize;
  return {
    [ONNX_METADATA.model]: model.spec.name,
    [ONNX_METADATA.spec]: JSON.stringify(model.spec),
    [ONNX_METADATA.color]: "RGB",
    [ONNX_METADATA.layout]: "NCHW",
    [ONNX_METADATA.size]: `${size}x${size}`,
    [ONNX_METADATA.mean]: "127.5",
    [ONNX_METADATA.std]: "127.5",
    [ONNX_METADATA.normalization]: "(x - 127.5) / 127.5 on RGB values 0..255",
    [ONNX_METADATA.embeddingSize]: String(model.embeddingSize),
  };
}
