// Identities of the synthetic dataset: a latent vector per person, drawn for (seed, identity index), from which
// every trait of the face follows. The difficulty knob pulls identities toward the average face and toward
// their "family" (groups of look-alikes), and widens the drift of traits between images of one person. Identities
// may also differ in fewer independent directions than there are traits (`identityBasis`).
import { deriveSeed, Rng } from "../rng.js";

/** Continuous traits, each a latent N(0, 1) coordinate mapped to [0, 1]. */
export const TRAITS = [
  "faceWidth",
  "faceLength",
  "jawSquare",
  "chinWidth",
  "cheekFull",
  "skinTone",
  "skinWarm",
  "blush",
  "eyeSpacing",
  "eyeY",
  "eyeWidth",
  "eyeHeight",
  "eyeTilt",
  "irisColor",
  "irisSize",
  "lidWeight",
  "browThick",
  "browArch",
  "browTilt",
  "browLength",
  "browGap",
  "noseLength",
  "noseWidth",
  "noseBridge",
  "noseTip",
  "mouthWidth",
  "lipUpper",
  "lipLower",
  "mouthY",
  "lipRed",
  "earSize",
  "hairColor",
  "hairline",
  "hairVolume",
  "hairPart",
  "hairLength",
  "masculine",
  "beard",
  "age",
  "freckles",
  "glasses",
  "glassesShape",
  "glassesTint",
] as const;

export type Trait = (typeof TRAITS)[number];

/** Traits as values in [0, 1] (0.5 = the average face). */
export type Traits = Record<Trait, number>;

export interface Identity {
  index: number;
  /** The latent coordinates, in TRAITS order. */
  latent: Float64Array;
  /** Moles as face coordinates and radius. */
  moles: readonly { x: number; y: number; r: number }[];
  /** Seeds the freckle pattern, which is part of the identity. */
  freckleSeed: number;
}

export interface IdentityOptions {
  seed: number;
  /** 0 = identities far apart, 1 = very close (default 0.5). */
  difficulty: number;
  /** Where identities vary in fewer directions than there are traits: `identityBasis`'s rows (unset: one per trait). */
  basis?: IdentityBasis;
}

/** A row per trait: that trait's latent coordinate is the row's dot product with a person's identity coordinates. */
export type IdentityBasis = readonly Float64Array[];

/**
 * The traits of every identity as linear functions of `dims` independent N(0, 1) coordinates: each trait's row is a
 * random unit vector, so each trait alone is still N(0, 1) across people, but together they span only `dims`
 * directions. The same for a seed. Real identities are thought to lie near such a low-dimensional set (faces vary
 * in far fewer independent ways than they have measurable features); with `dims` = the trait count the traits are
 * independent, the generator's default.
 */
export function identityBasis(seed: number, dims: number): IdentityBasis | undefined {
  if (!Number.isInteger(dims) || dims < 1 || dims > TRAITS.length) {
    throw new RangeError(`identity dimensions must be an integer from 1 to ${TRAITS.length}, got ${dims}`);
  }
  if (dims === TRAITS.length) return undefined;
  const rng = new Rng(deriveSeed(seed, 4, dims));
  return TRAITS.map(() => {
    const row = Float64Array.from({ length: dims }, () => rng.normal());
    const norm = Math.hypot(...row);
    return row.map((v) => v / norm);
  });
}

const FAMILY_SIZE = 4;

function latentVector(rng: Rng, basis: IdentityBasis | undefined): Float64Array {
  if (basis === undefined) return Float64Array.from(TRAITS, () => rng.normal());
  const coordinates = Float64Array.from(basis[0]!, () => rng.normal());
  return Float64Array.from(basis, (row) => row.reduce((sum, w, j) => sum + w * coordinates[j]!, 0));
}

/** The identity with this index: the same for the same seed and difficulty, however many others are drawn. */
export function makeIdentity(index: number, options: IdentityOptions): Identity {
  const d = options.difficulty;
  const own = latentVector(new Rng(deriveSeed(options.seed, 1, index)), options.basis);
  const family = latentVector(new Rng(deriveSeed(options.seed, 2, Math.floor(index / FAMILY_SIZE))), options.basis);
  // look-alikes share part of their latent vector; difficulty also narrows the population around the mean
  const share = 0.55 * d;
  const spread = 1 - 0.45 * d;
  const latent = own.map((v, k) => spread * (Math.sqrt(share) * family[k]! + Math.sqrt(1 - share) * v));
  const rng = new Rng(deriveSeed(options.seed, 3, index));
  const moles = Array.from({ length: rng.int(4) }, () => ({
    x: rng.uniform(-0.5, 0.5),
    y: rng.uniform(-0.4, 0.8),
    r: rng.uniform(0.012, 0.028),
  }));
  return { index, latent, moles, freckleSeed: rng.nextUint32() };
}

/**
 * The traits of one image of `identity`: its latent vector plus a drift (weight, make-up, hair growth...)
 * that grows with difficulty.
 */
export function traitsOf(identity: Identity, rng: Rng, difficulty: number): Traits {
  const drift = 0.12 + 0.16 * difficulty;
  const traits = {} as Traits;
  TRAITS.forEach((name, k) => {
    // discrete choices (glasses, beard, hair length) drift less, so that they stay mostly stable per person
    const z = identity.latent[k]! + (DISCRETE.has(name) ? 0.3 : 1) * drift * rng.normal();
    traits[name] = normalCdf(z);
  });
  return traits;
}

const DISCRETE = new Set<Trait>(["glasses", "glassesShape", "beard", "masculine", "hairLength", "hairColor"]);

// Abramowitz-Stegun 7.1.26 approximation of the standard normal CDF (error < 1.5e-7)
function normalCdf(z: number): number {
  const t = 1 / (1 + (0.3275911 * Math.abs(z)) / Math.SQRT2);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-(z * z) / 2);
  return 0.5 * (1 + Math.sign(z) * erf);
}
