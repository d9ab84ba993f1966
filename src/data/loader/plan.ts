// The order and flips of one epoch, fixed by (seed, epoch) so that a resumed run sees the same batches.
import { deriveSeed, Rng } from "../rng.js";

/** Where a loader stands: the epoch, and how many of its samples were already handed out. */
export interface LoaderPosition {
  epoch: number;
  index: number;
}

export interface EpochPlan {
  /** Dataset positions in the order this epoch visits them. */
  order: Uint32Array;
  /** 1 where the sample at that place in `order` is mirrored. */
  flips: Uint8Array;
}

export function planEpoch(length: number, seed: number, epoch: number, shuffle: boolean, flip: boolean): EpochPlan {
  const order = new Uint32Array(length);
  for (let i = 0; i < length; i++) order[i] = i;
  if (shuffle) new Rng(deriveSeed(seed, epoch, 1)).shuffle(order);
  const flips = new Uint8Array(length);
  if (flip) {
    const rng = new Rng(deriveSeed(seed, epoch, 2));
    for (let i = 0; i < length; i++) flips[i] = rng.nextUint32() & 1;
  }
  return { order, flips };
}
