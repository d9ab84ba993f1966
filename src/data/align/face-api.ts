// The shipped detector: @vladmandic/face-api's SSD MobileNetV1 face detector (WIDER FACE) and its 68-point
// landmark net, on TensorFlow.js's WebAssembly backend. Both models ship inside the npm package, so nothing is
// downloaded at run time. Chosen over the package's Tiny Face Detector, which missed faces that the SSD found on
// the package's own sample photos (see README, "Aligning raw photos").
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type * as Tfjs from "@tensorflow/tfjs";
import type * as FaceApi from "@vladmandic/face-api";
import { resizeImage, type RgbImage } from "../codec.js";
import { fivePointsFrom68, type DetectedFace, type FaceDetector } from "./detector.js";
import type { Point } from "./template.js";

const require = createRequire(import.meta.url);

export interface FaceApiOptions {
  /** Lowest detection score kept (default 0.5, face-api's default). */
  minConfidence?: number;
  /** Images whose longer side exceeds this are detected on a downscaled copy (default 1024): the SSD sees 512x512. */
  detectSide?: number;
}

let loaded: Promise<typeof FaceApi> | null = null;

/** Loads face-api on the wasm backend and its two models, once per thread. */
function loadFaceApi(): Promise<typeof FaceApi> {
  loaded ??= (async () => {
    const faceapi = require("@vladmandic/face-api/dist/face-api.node-wasm.js") as typeof FaceApi;
    const wasm = require("@tensorflow/tfjs-backend-wasm") as { setWasmPaths(prefix: string): void };
    wasm.setWasmPaths(dirname(require.resolve("@tensorflow/tfjs-backend-wasm")) + "/");
    // face-api's bundle re-exports this same tfjs instance, whose types it leaves out of its own
    const tf = require("@tensorflow/tfjs") as typeof Tfjs;
    await tf.setBackend("wasm");
    await tf.ready();
    const models = join(dirname(require.resolve("@vladmandic/face-api/package.json")), "model");
    await faceapi.nets.ssdMobilenetv1.loadFromDisk(models);
    await faceapi.nets.faceLandmark68Net.loadFromDisk(models);
    return faceapi;
  })();
  return loaded;
}

/** face-api's SSD MobileNetV1 + 68-point landmarks, reduced to the five arcface points. */
export async function faceApiDetector(options: FaceApiOptions = {}): Promise<FaceDetector> {
  const faceapi = await loadFaceApi();
  const detectSide = options.detectSide ?? 1024;
  const ssd = new faceapi.SsdMobilenetv1Options({ minConfidence: options.minConfidence ?? 0.5, maxResults: 100 });
  return {
    name: "face-api ssd-mobilenetv1 + landmark68",
    async detect(image: RgbImage): Promise<DetectedFace[]> {
      const scale = Math.min(1, detectSide / Math.max(image.width, image.height));
      const small =
        scale < 1
          ? await resizeImage(image, [Math.round(image.height * scale), Math.round(image.width * scale)])
          : image;
      const input = faceapi.tf.tensor3d(small.pixels, [small.height, small.width, 3], "int32");
      try {
        const found = await faceapi.detectAllFaces(input, ssd).withFaceLandmarks();
        // per axis, as rounding the downscaled size changes each axis' ratio a little
        const sx = small.width / image.width;
        const sy = small.height / image.height;
        const back = (x: number, y: number): Point => [x / sx, y / sy];
        return found.map(({ detection, landmarks }) => ({
          box: {
            x: detection.box.x / sx,
            y: detection.box.y / sy,
            width: detection.box.width / sx,
            height: detection.box.height / sy,
          },
          score: detection.score,
          landmarks: fivePointsFrom68(landmarks.positions.map((p) => back(p.x, p.y))),
        }));
      } finally {
        input.dispose();
      }
    },
  };
}
