// ReFO (Li et al., CVPR 2023): S' with labels (step 1) and its embeddings of D1 (step 2), the teacher tailored to
// them by reverse distillation (step 3), its embeddings of D2 (step 4) and the student trained on them by
// feature-only distillation (step 5); beside them the standard teacher, trained, imported, or an ONNX model of any
// architecture run as it is (which ReFO cannot tailor: `refo.enabled: false` keeps its feature-only baseline).
import { basename } from "node:path";
import { featureOnlySpecs, reverseTerm } from "../../distill/index.js";
import type { PlanBuilder } from "../plan-builder.js";
import { STUDENT_LABELS, TEACHER_STANDARD, type ModelStageId, type StageId } from "../stage-types.js";

/** A student trained on D2 by feature-only distillation from the embeddings of `teacherStage`. */
export function foStudent(plan: PlanBuilder, teacherStage: ModelStageId, id: ModelStageId, label: string): void {
  const teacherEmbeddings = plan.embed(teacherStage, "d2");
  plan.addModel({
    id,
    title: `feature-only distillation of the student from ${teacherStage} on D2`,
    needs: [teacherEmbeddings, ...plan.dataNeeds],
    spec: plan.trainSpec(
      "student",
      plan.studentModel(id, label, "fo"),
      "d2",
      featureOnlySpecs({ beta2: plan.config.refo.beta2 }),
      { precomputed: { teacher: teacherEmbeddings } },
    ),
  });
}

/** A teacher trained on D1 with its margin loss plus reverse distillation towards `proxyEmbeddings`. */
export function tailoredTeacher(
  plan: PlanBuilder,
  id: ModelStageId,
  label: string,
  kind: string,
  proxyEmbeddings: StageId,
): void {
  const { teacher, refo } = plan.config;
  plan.addModel({
    id,
    title: `reverse distillation of the teacher towards ${proxyEmbeddings.split(".")[0]} on D1`,
    needs: [proxyEmbeddings, ...plan.dataNeeds],
    spec: plan.trainSpec(
      "teacher",
      plan.teacherModel(id, label, kind),
      "d1",
      [plan.margin("teacher"), reverseTerm(refo)],
      {
        precomputed: { student: proxyEmbeddings },
        ...(teacher.pretrained ? { init: teacher.pretrained } : {}),
      },
    ),
  });
}

export function refoRecipe(plan: PlanBuilder): void {
  const { config } = plan;
  plan.addModel({
    id: STUDENT_LABELS,
    title: "train S', the student with labels only, on D1",
    needs: plan.dataNeeds,
    spec: plan.trainSpec(
      "student",
      plan.studentModel(STUDENT_LABELS, "Student, labels only (S')", "labels-only"),
      "d1",
      [plan.margin("student")],
    ),
  });
  const { pretrained, onnx } = config.teacher;
  const standard = plan.teacherModel(TEACHER_STANDARD, "Standard teacher", "standard");
  if (pretrained !== undefined && onnx !== undefined) {
    throw new RangeError("teacher: set either pretrained (an importable model) or onnx (any ONNX model), not both");
  }
  if (onnx !== undefined) {
    const { file, ...input } = onnx;
    plan.addModel({
      id: TEACHER_STANDARD,
      title: `use the ONNX teacher ${file} through onnxruntime`,
      needs: [],
      spec: { kind: "onnx", model: { ...standard, architecture: `onnx: ${basename(file)}` }, file, input },
    });
  } else if (pretrained !== undefined) {
    plan.addModel({
      id: TEACHER_STANDARD,
      title: `import the pretrained teacher ${pretrained}`,
      needs: [],
      spec: { kind: "import", model: standard, file: pretrained },
    });
  } else {
    plan.addModel({
      id: TEACHER_STANDARD,
      title: "train the standard teacher with labels only on D1",
      needs: plan.dataNeeds,
      spec: plan.trainSpec("teacher", standard, "d1", [plan.margin("teacher")]),
    });
  }
  if (!config.refo.enabled) return;
  plan.needsLibtorchTeacher("refo.enabled: ReFO's step 3 (the tailored teacher)", "set refo.enabled: false");
  tailoredTeacher(plan, "teacher-refo", "ReFO teacher (tailored to S')", "refo", plan.embed(STUDENT_LABELS, "d1"));
  foStudent(plan, "teacher-refo", "student-fo-refo", "FO ← ReFO teacher (ReFO)");
}
