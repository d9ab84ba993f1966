// Renders batches of synthetic face photos: SVG drawings rasterized by sharp (librsvg) in parallel, light and
// noise applied on the engine, then blurred and JPEG-encoded by sharp at each photo's own blur and quality.
import sharp from "sharp";
import * as torch from "../../torch/index.js";
import { Rng } from "../rng.js";
import { drawFace } from "./face-svg.js";
import { traitsOf, type Identity } from "./identity.js";
import { sampleNuisance } from "./nuisance.js";
import { applyPhotoEffects, type PhotoEffects } from "./photo-effects.js";

export interface FaceRequest {
  identity: Identity;
  /** Seeds everything about this photo (trait drift and nuisance). */
  photoSeed: number;
}

export interface RenderOptions {
  size: number;
  difficulty: number;
  /** Scales the nuisance ranges (1 = default). */
  nuisance: number;
}

/** Rasterized drawings of one batch, before the camera effects. */
export interface DrawnBatch {
  pixels: Uint8Array;
  effects: PhotoEffects[];
  jpegQualities: number[];
  blurs: number[];
}

/** Draws and rasterizes a batch (asynchronous: sharp works on its own threads). */
export async function drawBatch(requests: readonly FaceRequest[], options: RenderOptions): Promise<DrawnBatch> {
  const { size } = options;
  const frame = size * size * 3;
  const effects: PhotoEffects[] = [];
  const jpegQualities: number[] = [];
  const blurs: number[] = [];
  const svgs = requests.map(({ identity, photoSeed }) => {
    const rng = new Rng(photoSeed);
    const traits = traitsOf(identity, rng, options.difficulty);
    const nuisance = sampleNuisance(rng, options.nuisance);
    const drawn = drawFace(identity, traits, nuisance, size);
    effects.push({ head: drawn.head, light: nuisance.light, noise: nuisance.noise });
    jpegQualities.push(nuisance.jpegQuality);
    blurs.push((nuisance.blur * size) / 112);
    return drawn.svg;
  });
  const rasters = await Promise.all(svgs.map((svg) => sharp(Buffer.from(svg)).removeAlpha().raw().toBuffer()));
  const pixels = new Uint8Array(requests.length * frame);
  rasters.forEach((raster, i) => pixels.set(raster, i * frame));
  return { pixels, effects, jpegQualities, blurs };
}

/** Applies light and noise (seeded by `noiseSeed`), blur, and encodes each photo as JPEG. */
export async function finishBatch(drawn: DrawnBatch, size: number, noiseSeed: number): Promise<Uint8Array[]> {
  torch.manualSeed(noiseSeed);
  const pixels = applyPhotoEffects(drawn.pixels, size, drawn.effects);
  const frame = size * size * 3;
  return Promise.all(
    drawn.jpegQualities.map((quality, i) => {
      const raw = { raw: { width: size, height: size, channels: 3 as const } };
      let image = sharp(pixels.subarray(i * frame, (i + 1) * frame), raw);
      // sharp's Gaussian needs sigma >= 0.3
      if (drawn.blurs[i]! >= 0.3) image = image.blur(drawn.blurs[i]!);
      return image.jpeg({ quality, chromaSubsampling: "4:2:0" }).toBuffer();
    }),
  );
}
