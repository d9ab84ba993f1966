// ReFO+: the teacher tailored to a student proxy instead of S'. The main paper's definition of the proxy is not
// available to us, so `refoPlus.proxy` chooses it: a wider student trained with labels, a student first
// feature-distilled from the standard teacher, or S' itself (which makes ReFO+ the same as ReFO).
import type { PlanBuilder } from "../plan-builder.js";
import { STUDENT_LABELS, TEACHER_STANDARD, type ModelStageId } from "../stage-types.js";
import { foStudent, tailoredTeacher } from "./refo.js";

/** FO from the standard teacher: a baseline, and ReFO+'s `fo-standard` proxy. */
export function foStandard(plan: PlanBuilder): ModelStageId {
  const id = "student-fo-standard";
  if (!plan.has(id)) foStudent(plan, TEACHER_STANDARD, id, "FO ← standard teacher");
  return id;
}

export function refoPlusRecipe(plan: PlanBuilder): void {
  const { refoPlus, student } = plan.config;
  if (!refoPlus.enabled) return;
  plan.needsLibtorchTeacher("refoPlus.enabled: ReFO+'s tailored teacher", "set refoPlus.enabled: false");
  let proxyStage: ModelStageId = STUDENT_LABELS;
  if (refoPlus.proxy === "fo-standard") proxyStage = foStandard(plan);
  if (refoPlus.proxy === "wider") {
    proxyStage = "proxy-wider";
    const architecture = refoPlus.widerModel ?? widen(student.model);
    plan.addModel({
      id: proxyStage,
      title: `train the wider student proxy ${architecture} with labels on D1`,
      needs: plan.dataNeeds,
      spec: plan.trainSpec(
        "student",
        plan.studentModel(proxyStage, "Wider student (ReFO+ proxy)", "proxy", architecture),
        "d1",
        [plan.margin("student")],
      ),
    });
  }
  const proxyEmbeddings = plan.embed(proxyStage, "d1");
  tailoredTeacher(plan, "teacher-refo-plus", `ReFO+ teacher (tailored to ${proxyStage})`, "refo+", proxyEmbeddings);
  foStudent(plan, "teacher-refo-plus", "student-fo-refo-plus", "FO ← ReFO+ teacher (ReFO+)");
}

/** The student's architecture at twice its width: `mbf-w0.25@48` -> `mbf-w0.5@48`. */
export function widen(name: string): string {
  const match = /^([a-z0-9_]+)(?:-w([0-9.]+))?(@\d+)?$/.exec(name);
  if (!match) throw new RangeError(`refoPlus.widerModel: cannot widen '${name}'; set refoPlus.widerModel`);
  const width = Number(match[2] ?? 1) * 2;
  return `${match[1]}${width === 1 ? "" : `-w${width}`}${match[3] ?? ""}`;
}
