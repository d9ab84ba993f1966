// Errors for bad data, and the skip-corrupt policy that turns them into counted, logged skips.

/** A problem with a data file: the message names the file, the record or offset, and what to do about it. */
export class DataError extends Error {
  override name = "DataError";
}

/** A problem confined to one record (or image), which `skipCorrupt` may skip. */
export class CorruptRecordError extends DataError {
  override name = "CorruptRecordError";
}

export interface CorruptPolicy {
  /** Count, log and skip corrupt records instead of stopping at the first one (default false). */
  skipCorrupt?: boolean;
  /** Where skips are logged (default: console.warn). */
  onSkip?: (error: CorruptRecordError) => void;
}

/** Counts the records a policy skipped; rethrows when the policy does not skip. */
export class SkipCounter {
  skipped = 0;
  readonly #policy: CorruptPolicy;

  constructor(policy: CorruptPolicy = {}) {
    this.#policy = policy;
  }

  /** Handles an error met while reading one record: rethrows it unless it is a skippable CorruptRecordError. */
  skip(error: unknown): void {
    if (!(error instanceof CorruptRecordError) || !this.#policy.skipCorrupt) throw error;
    this.skipped++;
    (this.#policy.onSkip ?? defaultLog)(error);
  }
}

function defaultLog(error: CorruptRecordError): void {
  console.warn(`skipping a corrupt record: ${error.message}`);
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
