// The stages of a ReFO run, as data: what each one makes, from what, and from which earlier stages. The plan is
// built from the resolved config alone, so `--dry-run` can print it and each stage's fingerprint (plan-state.ts)
// can tell a finished stage from one whose inputs changed.
//
//   data                     the synthetic dataset (when no labeled set is given)
//   student-labels           S': the student trained on D1 with the margin loss alone (also the labels-only baseline)
//   teacher-standard         the teacher trained on D1 with the margin loss alone (or imported from `pretrained`)
//   teacher-refo             the teacher on D1 with L_cls + beta1 * L_emb(f_t, f_s'), f_s' from S' (ReFO step 3)
//   teacher-refo-plus        the same, tailored to the ReFO+ student proxy
//   student-fo-<teacher>     the student on D2 with beta2 * L_emb(f_s, f_t) alone (ReFO step 5)
//   student-kd, ...          the baselines
//   <model>.embed-d1|d2      a model's embeddings of D1 or D2 (ReFO steps 2 and 4)
//   eval.<model>             verification, throughput and intrinsic dimension of one model
//   results                  results.json, the findings and report.html
import type { LossSpec, Role } from "../distill/index.js";
import type { ScheduleConfig, OptimizerConfig } from "../train/index.js";
import { CRD_WEIGHT, PKT_WEIGHT, REFO_WEIGHTS } from "../distill/index.js";
import type { RefoConfig } from "./config.js";

/** A dataset of the run: D1 (labeled), D2 (for feature-only distillation). */
export type DatasetRole = "d1" | "d2";

/** A model the run trains (or imports) and evaluates. */
export interface PlannedModel {
  id: string;
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
  precomputed?: Partial<Record<Role, string>>;
  /** A live frozen teacher: the stage that trained it. */
  liveTeacher?: string;
  /** Frozen classifiers by owner role: the training stage whose head.safetensors holds them. */
  classifiers?: Partial<Record<Role, string>>;
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
  | { kind: "embed"; modelStage: string; data: DatasetRole }
  | { kind: "evaluate"; modelStage: string; model: PlannedModel; teacher?: DistillationTeacher }
  | { kind: "results" };

/** Whom a student's distillation error is measured against: its teacher's stage and the stage whose head.safetensors
 *  holds that teacher's classifier (its own, or S''s for the SH-KD teacher). */
export interface DistillationTeacher {
  stage: string;
  classifier: string;
}

export interface Stage {
  id: string;
  title: string;
  /** The stages whose outputs this one reads. */
  needs: string[];
  spec: StageSpec;
}

export const STUDENT_LABELS = "student-labels";
export const TEACHER_STANDARD = "teacher-standard";
export const RESULTS = "results";

const embedId = (modelStage: string, data: DatasetRole): string => `${modelStage}.embed-${data}`;

/** The students of the rival baselines (issue 18), each distilled from the standard teacher. */
export const RIVAL_STUDENTS = [
  "student-ekd",
  "student-qud",
  "student-adadistill",
  "student-margin-distillation",
  "student-crd",
  "student-pkt",
  "student-dkd",
];

/**
 * The stages of `config` in an order that runs every stage after the ones it needs. `d1Size`, the number of
 * samples in D1, is needed by the crd baseline only (its memory banks hold one row per sample).
 */
export function planStages(config: RefoConfig, numClasses: number, d1Size?: number): Stage[] {
  const stages: Stage[] = [];
  const synthetic = config.data.labeled === undefined;
  const dataNeeds = synthetic ? ["data"] : [];
  if (synthetic)
    stages.push({ id: "data", title: "generate the synthetic dataset", needs: [], spec: { kind: "data" } });

  const margin = (model: Role): LossSpec => ({
    name: config.margin.name,
    options: {
      model,
      numClasses,
      embeddingSize: config.embeddingSize,
      s: config.margin.s,
      ...(config.margin.name === "normface" ? {} : { m: config.margin.m }),
    },
  });
  const trainSpec = (
    who: "teacher" | "student",
    model: PlannedModel,
    data: DatasetRole,
    losses: LossSpec[],
    extra: Partial<TrainSpec> = {},
  ): TrainSpec => {
    const c = config[who];
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
  };
  const models: { stage: string; model: PlannedModel }[] = [];
  const addModel = (stage: Omit<Stage, "spec"> & { spec: TrainSpec | Extract<StageSpec, { kind: "import" }> }) => {
    stages.push(stage);
    models.push({ stage: stage.id, model: stage.spec.model });
  };
  const embeds = new Set<string>();
  const embed = (modelStage: string, data: DatasetRole): string => {
    const id = embedId(modelStage, data);
    if (!embeds.has(id)) {
      embeds.add(id);
      stages.push({
        id,
        title: `embed ${data.toUpperCase()} with ${modelStage}`,
        needs: [modelStage, ...dataNeeds],
        spec: { kind: "embed", modelStage, data },
      });
    }
    return id;
  };
  const teacherModel = (id: string, label: string, kind: string): PlannedModel => ({
    id,
    label,
    role: "teacher",
    kind,
    architecture: config.teacher.model,
  });
  const studentModel = (id: string, label: string, kind: string, architecture = config.student.model) => ({
    id,
    label,
    role: "student" as const,
    kind,
    architecture,
  });
  const foStudent = (teacherStage: string, id: string, label: string) => {
    const teacherEmbeddings = embed(teacherStage, "d2");
    addModel({
      id,
      title: `feature-only distillation of the student from ${teacherStage} on D2`,
      needs: [teacherEmbeddings, ...dataNeeds],
      spec: trainSpec("student", studentModel(id, label, "fo"), "d2", [foLoss(config)], {
        precomputed: { teacher: teacherEmbeddings },
      }),
    });
  };
  const tailoredTeacher = (id: string, label: string, kind: string, proxyEmbeddings: string) =>
    addModel({
      id,
      title: `reverse distillation of the teacher towards ${proxyEmbeddings.split(".")[0]} on D1`,
      needs: [proxyEmbeddings, ...dataNeeds],
      spec: trainSpec("teacher", teacherModel(id, label, kind), "d1", [margin("teacher"), reverseLoss(config)], {
        precomputed: { student: proxyEmbeddings },
        ...(config.teacher.pretrained ? { init: config.teacher.pretrained } : {}),
      }),
    });

  // ReFO steps 1-2: S' and its embeddings of D1
  addModel({
    id: STUDENT_LABELS,
    title: "train S', the student with labels only, on D1",
    needs: dataNeeds,
    spec: trainSpec("student", studentModel(STUDENT_LABELS, "Student, labels only (S')", "labels-only"), "d1", [
      margin("student"),
    ]),
  });
  const standard = teacherModel(TEACHER_STANDARD, "Standard teacher", "standard");
  if (config.teacher.pretrained !== undefined) {
    addModel({
      id: TEACHER_STANDARD,
      title: `import the pretrained teacher ${config.teacher.pretrained}`,
      needs: [],
      spec: { kind: "import", model: standard, file: config.teacher.pretrained },
    });
  } else {
    addModel({
      id: TEACHER_STANDARD,
      title: "train the standard teacher with labels only on D1",
      needs: dataNeeds,
      spec: trainSpec("teacher", standard, "d1", [margin("teacher")]),
    });
  }
  // ReFO steps 3-5
  tailoredTeacher("teacher-refo", "ReFO teacher (tailored to S')", "refo", embed(STUDENT_LABELS, "d1"));
  foStudent("teacher-refo", "student-fo-refo", "FO ← ReFO teacher (ReFO)");

  const baselines = new Set(config.baselines);
  const plus = config.refoPlus;
  if (baselines.has("fo-standard") || (plus.enabled && plus.proxy === "fo-standard")) {
    foStudent(TEACHER_STANDARD, "student-fo-standard", "FO ← standard teacher");
  }
  if (plus.enabled) {
    let proxyStage = STUDENT_LABELS;
    if (plus.proxy === "fo-standard") proxyStage = "student-fo-standard";
    if (plus.proxy === "wider") {
      proxyStage = "proxy-wider";
      const architecture = plus.widerModel ?? widen(config.student.model);
      addModel({
        id: proxyStage,
        title: `train the wider student proxy ${architecture} with labels on D1`,
        needs: dataNeeds,
        spec: trainSpec(
          "student",
          studentModel(proxyStage, "Wider student (ReFO+ proxy)", "proxy", architecture),
          "d1",
          [margin("student")],
        ),
      });
    }
    tailoredTeacher("teacher-refo-plus", `ReFO+ teacher (tailored to ${proxyStage})`, "refo+", embed(proxyStage, "d1"));
    foStudent("teacher-refo-plus", "student-fo-refo-plus", "FO ← ReFO+ teacher (ReFO+)");
  }

  const needsHead = (what: string) => {
    if (config.teacher.pretrained !== undefined) {
      throw new RangeError(
        `baselines: '${what}' needs the standard teacher's classifier, which a pretrained teacher (teacher.pretrained) ` +
          "does not bring: remove it from baselines, or train the teacher here",
      );
    }
  };
  const headKD = (id: string, label: string, kind: string, loss: LossSpec) => {
    needsHead(kind);
    addModel({
      id,
      title: `train the student with ${kind} from the standard teacher on D1`,
      needs: [TEACHER_STANDARD, ...dataNeeds],
      spec: trainSpec("student", studentModel(id, label, kind), "d1", [margin("student"), loss], {
        liveTeacher: TEACHER_STANDARD,
        classifiers: { teacher: TEACHER_STANDARD },
      }),
    });
  };
  if (baselines.has("kd")) headKD("student-kd", "Hinton KD ← standard teacher", "kd", { name: "kd" });
  if (baselines.has("th-kd")) {
    headKD("student-th-kd", "TH-KD ← standard teacher", "th-kd", {
      name: "th-kd",
      options: { scale: config.margin.s },
    });
  }
  if (baselines.has("sh-kd")) {
    const id = "teacher-sh-kd";
    addModel({
      id,
      title: "train the teacher through the frozen classifier of S' (SH-KD) on D1",
      needs: [STUDENT_LABELS, ...dataNeeds],
      spec: trainSpec(
        "teacher",
        teacherModel(id, "SH-KD teacher (the head of S')", "sh-kd"),
        "d1",
        [{ name: "sh-kd", options: { margin: config.margin.name, s: config.margin.s, m: config.margin.m } }],
        { classifiers: { student: STUDENT_LABELS } },
      ),
    });
    foStudent(id, "student-fo-sh-kd", "FO ← SH-KD teacher");
  }

  // the rival baselines: each a student distilled from the standard teacher with the paper's loss and weights
  const rival = (kind: string, label: string, losses: LossSpec[], extra: Partial<TrainSpec> = {}) => {
    const id = `student-${kind}`;
    addModel({
      id,
      title: `train the student with ${kind} from the standard teacher on ${extra.data === "d2" ? "D2" : "D1"}`,
      needs: [TEACHER_STANDARD, ...(extra.precomputed?.teacher ? [extra.precomputed.teacher] : []), ...dataNeeds],
      spec: trainSpec("student", studentModel(id, label, kind), extra.data ?? "d1", losses, {
        liveTeacher: TEACHER_STANDARD,
        ...extra,
      }),
    });
  };
  const sizes = { embeddingSize: config.embeddingSize };
  if (baselines.has("ekd")) rival("ekd", "EKD ← standard teacher", [margin("student"), { name: "ekd" }]);
  if (baselines.has("qud")) {
    // like ReFO's feature-only step: D2 without labels, against the teacher's precomputed embeddings
    const teacherEmbeddings = embed(TEACHER_STANDARD, "d2");
    const queueSize = Math.max(1024, config.student.batchSize);
    rival("qud", "QUD ← standard teacher (no labels)", [{ name: "qud", options: { ...sizes, queueSize } }], {
      data: "d2",
      precomputed: { teacher: teacherEmbeddings },
      liveTeacher: undefined,
    });
  }
  const { name: marginName, s, m } = config.margin;
  if (baselines.has("adadistill")) {
    rival("adadistill", "AdaDistill ← standard teacher", [
      { name: "adadistill", options: { ...sizes, numClasses, margin: marginName, s, m } },
    ]);
  }
  if (baselines.has("margin-distillation")) {
    needsHead("margin-distillation");
    rival(
      "margin-distillation",
      "MarginDistillation ← standard teacher",
      [{ name: "margin-distillation", options: { s } }],
      {
        classifiers: { teacher: TEACHER_STANDARD },
      },
    );
  }
  if (baselines.has("crd")) {
    if (d1Size === undefined)
      throw new RangeError("baselines: 'crd' needs the number of samples in D1 (planStages' d1Size)");
    rival("crd", "CRD ← standard teacher", [
      margin("student"),
      {
        name: "crd",
        weight: CRD_WEIGHT,
        options: { datasetSize: d1Size, studentSize: config.embeddingSize, negatives: Math.min(16384, d1Size) },
      },
    ]);
  }
  if (baselines.has("pkt"))
    rival("pkt", "PKT ← standard teacher", [margin("student"), { name: "pkt", weight: PKT_WEIGHT }]);
  if (baselines.has("dkd")) {
    needsHead("dkd");
    rival("dkd", "DKD ← standard teacher", [margin("student"), { name: "dkd" }], {
      classifiers: { teacher: TEACHER_STANDARD },
    });
  }

  const byId = new Map(stages.map((s) => [s.id, s]));
  for (const { stage, model } of models) {
    const teacher = model.role === "student" ? distillationTeacher(byId, stage) : undefined;
    stages.push({
      id: `eval.${stage}`,
      title: `evaluate ${model.label}`,
      needs: [...new Set([stage, ...(teacher ? [teacher.stage, teacher.classifier] : []), ...dataNeeds])],
      spec: { kind: "evaluate", modelStage: stage, model, ...(teacher ? { teacher } : {}) },
    });
  }
  stages.push({
    id: RESULTS,
    title: "collect the results and write the report",
    needs: models.map(({ stage }) => `eval.${stage}`),
    spec: { kind: "results" },
  });
  return stages;
}

/**
 * The teacher a student learned from (its live teacher, or the model whose precomputed embeddings it regressed; the
 * standard teacher for the students trained without one) and the stage holding that teacher's classifier; none
 * when that teacher has no classifier here (an imported pretrained teacher).
 */
function distillationTeacher(byId: ReadonlyMap<string, Stage>, studentStage: string): DistillationTeacher | undefined {
  const spec = byId.get(studentStage)!.spec;
  if (spec.kind !== "train") return undefined;
  const embedding = spec.precomputed?.teacher && byId.get(spec.precomputed.teacher)?.spec;
  const teacher =
    spec.liveTeacher ?? (embedding && embedding.kind === "embed" ? embedding.modelStage : TEACHER_STANDARD);
  const teacherSpec = byId.get(teacher)!.spec;
  if (teacherSpec.kind !== "train") return undefined;
  return { stage: teacher, classifier: teacherSpec.classifiers?.student ?? teacher };
}

function foLoss(config: RefoConfig): LossSpec {
  return { name: "fo", weight: config.refo.beta2, options: { metric: "normalized-l2" } };
}

function reverseLoss(config: RefoConfig): LossSpec {
  const { normalized, beta1 } = config.refo;
  const weight = beta1 ?? (normalized ? REFO_WEIGHTS.reverseNormalized : REFO_WEIGHTS.reverseRaw);
  return { name: "reverse", weight, options: { metric: normalized ? "normalized-l2" : "l2" } };
}

/** The student's architecture at twice its width: `mbf-w0.25@48` -> `mbf-w0.5@48`. */
export function widen(name: string): string {
  const match = /^([a-z0-9_]+)(?:-w([0-9.]+))?(@\d+)?$/.exec(name);
  if (!match) throw new RangeError(`refoPlus.widerModel: cannot widen '${name}'; set refoPlus.widerModel`);
  const width = Number(match[2] ?? 1) * 2;
  return `${match[1]}${width === 1 ? "" : `-w${width}`}${match[3] ?? ""}`;
}
