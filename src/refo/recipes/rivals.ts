// The rival face-KD methods and the strongest general ones as baselines: each a student distilled from the standard
// teacher with its paper's loss and weights. QUD, like ReFO's feature-only step, trains on D2 without labels against
// the teacher's precomputed embeddings; AdaDistill and MarginDistillation replace the margin softmax; the others
// sit beside it.
import { CRD_WEIGHT, PKT_WEIGHT, type LossSpec } from "../../distill/index.js";
import type { PlanBuilder } from "../plan-builder.js";
import { TEACHER_STANDARD, type TrainSpec } from "../stage-types.js";
import { needsHead } from "./baselines.js";

export function rivalsRecipe(plan: PlanBuilder): void {
  const { config, numClasses, d1Size } = plan;
  const baselines = new Set(config.baselines);
  const rival = (kind: string, label: string, losses: LossSpec[], extra: Partial<TrainSpec> = {}) => {
    const id = `student-${kind}` as const;
    // all but qud (liveTeacher: undefined), which reads the teacher's precomputed embeddings only
    if (!("liveTeacher" in extra)) plan.needsLibtorchTeacher(`baselines: '${kind}'`, `remove '${kind}' from baselines`);
    plan.addModel({
      id,
      title: `train the student with ${kind} from the standard teacher on ${extra.data === "d2" ? "D2" : "D1"}`,
      needs: [TEACHER_STANDARD, ...(extra.precomputed?.teacher ? [extra.precomputed.teacher] : []), ...plan.dataNeeds],
      spec: plan.trainSpec("student", plan.studentModel(id, label, kind), extra.data ?? "d1", losses, {
        liveTeacher: TEACHER_STANDARD,
        ...extra,
      }),
    });
  };
  const margin = plan.margin("student");
  const sizes = { embeddingSize: config.embeddingSize };
  if (baselines.has("ekd")) rival("ekd", "EKD ← standard teacher", [margin, { name: "ekd" }]);
  if (baselines.has("qud")) {
    const teacherEmbeddings = plan.embed(TEACHER_STANDARD, "d2");
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
    needsHead(plan, "margin-distillation");
    const loss = { name: "margin-distillation", options: { s } };
    rival("margin-distillation", "MarginDistillation ← standard teacher", [loss], {
      classifiers: { teacher: TEACHER_STANDARD },
    });
  }
  if (baselines.has("crd")) {
    if (d1Size === undefined) throw new RangeError("baselines: 'crd' needs the number of samples in D1 (d1Size)");
    const options = { datasetSize: d1Size, studentSize: config.embeddingSize, negatives: Math.min(16384, d1Size) };
    rival("crd", "CRD ← standard teacher", [margin, { name: "crd", weight: CRD_WEIGHT, options }]);
  }
  if (baselines.has("pkt")) rival("pkt", "PKT ← standard teacher", [margin, { name: "pkt", weight: PKT_WEIGHT }]);
  if (baselines.has("dkd")) {
    needsHead(plan, "dkd");
    rival("dkd", "DKD ← standard teacher", [margin, { name: "dkd" }], { classifiers: { teacher: TEACHER_STANDARD } });
  }
}
