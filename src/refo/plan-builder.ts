// The shared vocabulary of the recipes: a stage list under construction, with the run's models, each dataset
// embedding made once, and the training specs that every recipe builds the same way.
import type { LossSpec, Role } from "../distill/index.js";
import { makesData, type RefoConfig } from "./config.js";
import type {
  DatasetRole,
  ModelStageId,
  PlannedModel,
  SpecOf,
  Stage,
  StageId,
  StageSpec,
  TrainSpec,
} from "./stage-types.js";

type ModelStage = Omit<Stage, "spec" | "id"> & {
  id: ModelStageId;
  spec: TrainSpec | SpecOf<"import"> | SpecOf<"onnx">;
};

export class PlanBuilder {
  readonly stages: Stage[] = [];
  readonly models: { stage: ModelStageId; model: PlannedModel }[] = [];
  /** The data stage when the run generates its dataset: every stage that reads data needs it. */
  readonly dataNeeds: StageId[];

  constructor(
    readonly config: RefoConfig,
    readonly numClasses: number,
    /** Samples in D1: only the crd baseline needs it (its memory banks hold one row per sample). */
    readonly d1Size?: number,
  ) {
    this.dataNeeds = makesData(config) ? ["data"] : [];
  }

  add(stage: Stage<StageSpec>): void {
    this.stages.push(stage);
  }

  /** A stage that makes a model, which is then evaluated. */
  addModel(stage: ModelStage): void {
    this.stages.push(stage);
    this.models.push({ stage: stage.id, model: stage.spec.model });
  }

  has(id: StageId): boolean {
    return this.stages.some((s) => s.id === id);
  }

  /** The stage embedding `data` with the model of `modelStage`, added once. */
  embed(modelStage: ModelStageId, data: DatasetRole): StageId {
    const id: StageId = `${modelStage}.embed-${data}`;
    if (!this.has(id)) {
      this.add({
        id,
        title: `embed ${data.toUpperCase()} with ${modelStage}`,
        needs: [modelStage, ...this.dataNeeds],
        spec: { kind: "embed", modelStage, data },
      });
    }
    return id;
  }

  /** The run's margin softmax for the model of `model`'s role. */
  margin(model: Role): LossSpec {
    const { name, s, m } = this.config.margin;
    return {
      name,
      options: {
        model,
        numClasses: this.numClasses,
        embeddingSize: this.config.embeddingSize,
        s,
        ...(name === "normface" ? {} : { m }),
      },
    };
  }

  trainSpec(
    who: Role,
    model: PlannedModel,
    data: DatasetRole,
    losses: LossSpec[],
    extra: Partial<TrainSpec> = {},
  ): TrainSpec {
    const c = this.config[who];
    return {
      kind: "train",
      model,
      data,
      losses,
      steps: c.steps,
      batchSize: c.batchSize,
      optimizer: c.optimizer,
      schedule: c.schedule,
      clipGradNorm: c.clipGradNorm,
      ...extra,
    };
  }

  /** Throws when the standard teacher is an ONNX model (teacher.onnx) and `what` trains or runs it in libtorch. */
  needsLibtorchTeacher(what: string, remedy: string): void {
    if (this.config.teacher.onnx === undefined) return;
    throw new RangeError(
      `${what} trains or runs the teacher in libtorch, which an ONNX teacher (teacher.onnx) cannot be: give an ` +
        "importable model as teacher.pretrained instead (a .pth, .safetensors or .onnx of teacher.model's " +
        `architecture), or ${remedy}`,
    );
  }

  teacherModel(id: ModelStageId, label: string, kind: string): PlannedModel {
    return { id, label, role: "teacher", kind, architecture: this.config.teacher.model };
  }

  studentModel(id: ModelStageId, label: string, kind: string, architecture = this.config.student.model): PlannedModel {
    return { id, label, role: "student", kind, architecture };
  }
}
