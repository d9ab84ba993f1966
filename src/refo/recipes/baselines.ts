// The classic distillation baselines of the comparison, each a student (or teacher) trained by its own recipe:
// Hinton KD and TH-KD through the standard teacher's frozen head, and SH-KD (the teacher trained through the
// frozen head of S', then FO from it).
import type { LossSpec } from "../../distill/index.js";
import type { PlanBuilder } from "../plan-builder.js";
import { STUDENT_LABELS, TEACHER_STANDARD, type ModelStageId } from "../stage-types.js";
import { foStudent } from "./refo.js";

/** A baseline that reads the standard teacher's classifier, which an imported teacher does not bring. */
export function needsHead(plan: PlanBuilder, kind: string): void {
  if (plan.config.teacher.pretrained !== undefined) {
    throw new RangeError(
      `baselines: '${kind}' needs the standard teacher's classifier, which a pretrained teacher (teacher.pretrained) ` +
        "does not bring: remove it from baselines, or train the teacher here",
    );
  }
}

/** A student trained on D1 with its margin loss plus `loss` against the live standard teacher and its head. */
function headKD(plan: PlanBuilder, id: ModelStageId, label: string, kind: string, loss: LossSpec): void {
  needsHead(plan, kind);
  plan.needsLibtorchTeacher(`baselines: '${kind}'`, `remove '${kind}' from baselines`);
  plan.addModel({
    id,
    title: `train the student with ${kind} from the standard teacher on D1`,
    needs: [TEACHER_STANDARD, ...plan.dataNeeds],
    spec: plan.trainSpec("student", plan.studentModel(id, label, kind), "d1", [plan.margin("student"), loss], {
      liveTeacher: TEACHER_STANDARD,
      classifiers: { teacher: TEACHER_STANDARD },
    }),
  });
}

function shkd(plan: PlanBuilder): void {
  const { margin } = plan.config;
  const id = "teacher-sh-kd";
  plan.needsLibtorchTeacher("baselines: 'sh-kd'", "remove 'sh-kd' from baselines");
  plan.addModel({
    id,
    title: "train the teacher through the frozen classifier of S' (SH-KD) on D1",
    needs: [STUDENT_LABELS, ...plan.dataNeeds],
    spec: plan.trainSpec(
      "teacher",
      plan.teacherModel(id, "SH-KD teacher (the head of S')", "sh-kd"),
      "d1",
      [{ name: "sh-kd", options: { margin: margin.name, s: margin.s, m: margin.m } }],
      { classifiers: { student: STUDENT_LABELS } },
    ),
  });
  foStudent(plan, id, "student-fo-sh-kd", "FO ← SH-KD teacher");
}

export function baselinesRecipe(plan: PlanBuilder): void {
  const baselines = new Set(plan.config.baselines);
  if (baselines.has("kd")) headKD(plan, "student-kd", "Hinton KD ← standard teacher", "kd", { name: "kd" });
  if (baselines.has("th-kd")) {
    const loss = { name: "th-kd", options: { scale: plan.config.margin.s } };
    headKD(plan, "student-th-kd", "TH-KD ← standard teacher", "th-kd", loss);
  }
  if (baselines.has("sh-kd")) shkd(plan);
}
