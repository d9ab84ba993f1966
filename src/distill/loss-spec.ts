/** One term of an objective, as written in a configuration file. */
export interface LossSpec {
  /** A registered loss (see `listLosses()`). */
  name: string;
  /** The factor of the term in the total (1). */
  weight?: number;
  /** The term's name in results, logs and state-dict keys (the loss name): needed to use one loss twice. */
  label?: string;
  options?: Record<string, unknown>;
}
