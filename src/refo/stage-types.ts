// The stages of a ReFO run as typed data: what each kind of stage makes, from what, and its id. Recipes
// (recipes/) build them from the config; runners (stages/index.ts) execute them, one runner per kind.
import type { LossSpec, Role } from "../distill/index.js";
import type { OnnxInputOptions } from "../models/index.js";
import type { OptimizerConfig, ScheduleConfig } from "../train/index.js";

/** A dataset of the run: D1 (labeled), D2 (for feature-only distillation). */
export type DatasetRole = "d1" | "d2";

/** The id of a stage that makes a model: `student-labels`, `teacher-refo`, `proxy-wider`, ... */
export type ModelStageId = `student-${string}` | `teacher-${string}` | `proxy-${string}`;
export type StageId =
  "data" | "results" | ModelStageId | `${ModelStageId}.embed-${DatasetRole}` | `eval.${ModelStageId}`;

/** A model the run trains (or imports) and evaluates. */
export interface PlannedModel {
  id: ModelStageId;
  label: string;
  role: Role;
  kind: string;
  architecture: string;
}

export interface TrainSpec {
  kind: "train";
  model: PlannedModel;
  data: DatasetRole;
  losses: LossSpec[];
  /** Precomputed embeddings by role: the embed stage that made them. */
  precomputed?: Partial<Record<Role, StageId>>;
  /** A live frozen teacher: the stage that trained it. */
  liveTeacher?: ModelStageId;
  /** Frozen classifiers by owner role: the training stage whose head.safetensors holds them. */
  classifiers?: Partial<Record<Role, ModelStageId>>;
  /** A checkpoint to start from. */
  init?: string;
  steps: number;
  batchSize: number;
  optimizer: OptimizerConfig;
  schedule: ScheduleConfig;
  clipGradNorm: number;
}

export type StageSpec =
  | { kind: "data" }
  | TrainSpec
  | { kind: "import"; model: PlannedModel; file: string }
  /** An ONNX model run by onnxruntime as it is: embeddings and evaluation only, never trained. */
  | { kind: "onnx"; model: PlannedModel; file: string; input: OnnxInputOptions }
  | { kind: "embed"; modelStage: ModelStageId; data: DatasetRole }
  | {
      kind: "evaluate";
      modelStage: ModelStageId;
      model: PlannedModel;
      teacher?: DistillationTeacher;
      /** Files the model is also written as, into its stage folder (final students only). */
      export?: ExportFormat[];
    }
  | { kind: "results" };

/** Whom a student's distillation error is measured against: its teacher's stage and the stage whose head.safetensors
 *  holds that teacher's classifier (its own, or S''s for the SH-KD teacher). */
export interface DistillationTeacher {
  stage: ModelStageId;
  classifier: ModelStageId;
}

export type ExportFormat = "onnx";

export type StageKind = StageSpec["kind"];
export type SpecOf<K extends StageKind> = Extract<StageSpec, { kind: K }>;

export interface Stage<S extends StageSpec = StageSpec> {
  id: StageId;
  title: string;
  /** The stages whose outputs this one reads. */
  needs: StageId[];
  spec: S;
}

export const STUDENT_LABELS = "student-labels";
export const TEACHER_STANDARD = "teacher-standard";
export const RESULTS = "results";
