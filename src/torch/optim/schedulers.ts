// Learning-rate schedulers. Each sets every group's lr to a pure function of its initial lr and the step count
// (PyTorch's closed forms), so a resumed schedule is exactly the uninterrupted one.

/** What a scheduler drives: any optimizer (its groups' mutable lr). */
export interface LRSchedulable {
  readonly paramGroups: readonly { lr: number }[];
}

/** The lr of a group with initial lr `baseLr` after `step` scheduler steps. */
export type LRRule = (baseLr: number, step: number) => number;

/** A scheduler's plain-JSON state. */
export interface SchedulerState {
  type: string;
  lastStep: number;
  baseLrs: number[];
}

export abstract class LRScheduler {
  readonly optimizer: LRSchedulable;
  /** Each group's initial lr (its lr when the scheduler was made). */
  baseLrs: number[];
  readonly #rule: LRRule;
  #lastStep = 0;
  #lastLr: number[] = [];

  /** Sets the groups' lr for step 0 at once, as PyTorch's schedulers do when constructed. */
  protected constructor(optimizer: LRSchedulable, rule: LRRule, baseLrs?: readonly number[]) {
    this.optimizer = optimizer;
    this.#rule = rule;
    this.baseLrs = [...(baseLrs ?? optimizer.paramGroups.map((g) => g.lr))];
    this.#apply();
  }

  /** The number of step() calls so far (PyTorch's last_epoch). */
  get lastStep(): number {
    return this.#lastStep;
  }

  /** The lr of a group with initial lr `baseLr` at `step` (pure). */
  lrFor(baseLr: number, step: number): number {
    return this.#rule(baseLr, step);
  }

  /** Every group's lr at `step` (pure: does not touch the optimizer). */
  lrAt(step: number): number[] {
    return this.baseLrs.map((base) => this.#rule(base, step));
  }

  /** Advances one step and sets the groups' lr. Call it after optimizer.step(). */
  step(): void {
    this.#lastStep += 1;
    this.#apply();
  }

  /** The lrs this scheduler set last. */
  lastLr(): number[] {
    return [...this.#lastLr];
  }

  stateDict(): SchedulerState {
    return { type: this.constructor.name, lastStep: this.#lastStep, baseLrs: [...this.baseLrs] };
  }

  /** Restores the step count and initial lrs, and sets the groups' lr to match. */
  loadStateDict(state: SchedulerState): void {
    const name = this.constructor.name;
    if (state.type !== undefined && state.type !== name) {
      throw new Error(`${name}.loadStateDict: the state was saved by ${state.type}; load it into a ${state.type}`);
    }
    if (!Number.isInteger(state.lastStep) || state.lastStep < 0) {
      throw new Error(`${name}.loadStateDict: lastStep must be a non-negative integer, got ${state.lastStep}`);
    }
    if (state.baseLrs.length !== this.optimizer.paramGroups.length) {
      throw new Error(
        `${name}.loadStateDict: the state has ${state.baseLrs.length} base lrs but the optimizer has ` +
          `${this.optimizer.paramGroups.length} param groups`,
      );
    }
    this.#lastStep = state.lastStep;
    this.baseLrs = [...state.baseLrs];
    this.#apply();
  }

  #apply(): void {
    this.#lastLr = this.lrAt(this.#lastStep);
    this.optimizer.paramGroups.forEach((g, i) => (g.lr = this.#lastLr[i]!));
  }
}

function check(ok: boolean, message: string): void {
  if (!ok) throw new RangeError(message);
}

/** lr = base * gamma^floor(step / stepSize). */
export class StepLR extends LRScheduler {
  constructor(optimizer: LRSchedulable, { stepSize, gamma = 0.1 }: { stepSize: number; gamma?: number }) {
    check(Number.isInteger(stepSize) && stepSize > 0, `StepLR: stepSize must be a positive integer, got ${stepSize}`);
    super(optimizer, (base, step) => base * gamma ** Math.floor(step / stepSize));
  }
}

/** lr = base * gamma^(number of milestones <= step). */
export class MultiStepLR extends LRScheduler {
  constructor(optimizer: LRSchedulable, { milestones, gamma = 0.1 }: { milestones: number[]; gamma?: number }) {
    check(
      milestones.every((m) => Number.isInteger(m) && m >= 0),
      `MultiStepLR: milestones must be non-negative integers, got ${JSON.stringify(milestones)}`,
    );
    const sorted = [...milestones].sort((a, b) => a - b);
    super(optimizer, (base, step) => base * gamma ** sorted.filter((m) => m <= step).length);
  }
}

/** lr = base * (1 - min(step, totalSteps) / totalSteps)^power: arcface_torch's decay (power 1: linear to 0). */
export class PolynomialLR extends LRScheduler {
  constructor(optimizer: LRSchedulable, { totalSteps, power = 1 }: { totalSteps: number; power?: number }) {
    check(totalSteps > 0, `PolynomialLR: totalSteps must be > 0, got ${totalSteps}`);
    super(optimizer, (base, step) => base * (1.0 - Math.min(totalSteps, step) / totalSteps) ** power);
  }
}

/** lr = etaMin + (base - etaMin) * (1 + cos(pi * step / tMax)) / 2 (PyTorch's closed form, periodic past tMax). */
export class CosineAnnealingLR extends LRScheduler {
  constructor(optimizer: LRSchedulable, { tMax, etaMin = 0 }: { tMax: number; etaMin?: number }) {
    check(tMax > 0, `CosineAnnealingLR: tMax must be > 0, got ${tMax}`);
    super(optimizer, (base, step) => etaMin + ((base - etaMin) * (1 + Math.cos((Math.PI * step) / tMax))) / 2);
  }
}

/**
 * Linear warmup in front of another schedule: for step < warmupSteps the lr is the inner schedule's initial lr
 * times startFactor + (1 - startFactor) * step / warmupSteps; from then on it is the inner schedule's lr at
 * step - warmupSteps (the inner schedule starts when warmup ends, as arcface_torch's PolyScheduler and PyTorch's
 * SequentialLR: give it the post-warmup length, e.g. PolynomialLR's totalSteps = total - warmupSteps).
 * Step only the LinearWarmup, not the inner scheduler.
 */
export class LinearWarmup extends LRScheduler {
  readonly inner: LRScheduler;

  constructor(inner: LRScheduler, { warmupSteps, startFactor = 0 }: { warmupSteps: number; startFactor?: number }) {
    check(
      Number.isInteger(warmupSteps) && warmupSteps >= 0,
      `LinearWarmup: warmupSteps must be a non-negative integer, got ${warmupSteps}`,
    );
    check(startFactor >= 0 && startFactor <= 1, `LinearWarmup: startFactor must be in [0, 1], got ${startFactor}`);
    super(
      inner.optimizer,
      (base, step) =>
        step < warmupSteps
          ? inner.lrFor(base, 0) * (startFactor + ((1 - startFactor) * step) / warmupSteps)
          : inner.lrFor(base, step - warmupSteps),
      inner.baseLrs,
    );
    this.inner = inner;
  }
}
