// What the engine benchmark (engine.ts) measures on each side: the fixed input, the model cases, the phases of a
// train step, and the Side interface that facekd (engine-facekd.ts) and the PyTorch peer (engine-peer.ts) answer.

export const BATCH = 32;
export const SIZE = 112;
export const FORMATS = ["nchw", "channels_last"] as const;
export type Format = (typeof FORMATS)[number];
export const CASES = ["train_nchw", "train_channels_last", "infer_nchw", "infer_channels_last"] as const;
export type CaseName = (typeof CASES)[number];

export type Phases = { forward: number; backward: number; optimizer: number; zero_grad: number };
export const PHASES = ["forward", "backward", "optimizer", "zero_grad"] as const;
export const zeroPhases = (): Phases => ({ forward: 0, backward: 0, optimizer: 0, zero_grad: 0 });

export type Usage = { cpu_user_ms: number; cpu_sys_ms: number; minor_faults: number };

export interface Sample {
  value: number;
  steps: number;
}

/** One side of the benchmark: facekd, or the same requests answered by the peer in Python. */
export interface Side {
  caseRun(name: CaseName, seconds: number, warmup: number): Promise<Sample>;
  matmul(seconds: number, n: number): Promise<Sample>;
  micro(seconds: number): Promise<Sample>;
  phases(): Promise<Record<string, Phases>>;
  /** Process CPU time and minor page faults per step of each model case (timed loops only). */
  usage(): Promise<Record<string, Usage>>;
}
