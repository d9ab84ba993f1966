// The stages of a ReFO run, as data: what each one makes, from what, and from which earlier stages. The plan is
// built from the resolved config alone, so `--dry-run` can print it and each stage's fingerprint (stage-state.ts)
// can tell a finished stage from one whose inputs changed.
//
//   data                     the synthetic dataset (when no labeled set is given), or the aligned photos (align)
//   student-labels           S': the student trained on D1 with the margin loss alone (also the labels-only baseline)
//   teacher-standard         the teacher trained on D1 with the margin loss alone (or imported from `pretrained`, or
//                            the `onnx` model run by onnxruntime)
//   teacher-refo             the teacher on D1 with L_cls + beta1 * L_emb(f_t, f_s'), f_s' from S' (ReFO step 3)
//   teacher-refo-plus        the same, tailored to the ReFO+ student proxy
//   student-fo-<teacher>     the student on D2 with beta2 * L_emb(f_s, f_t) alone (ReFO step 5)
//   student-kd, ...          the baselines
//   <model>.embed-d1|d2      a model's embeddings of D1 or D2 (ReFO steps 2 and 4)
//   eval.<model>             verification, throughput and intrinsic dimension of one model
//   results                  results.json, the findings and report.html
import { makesData, type RefoConfig } from "./config.js";
import { PlanBuilder } from "./plan-builder.js";
import { baselinesRecipe } from "./recipes/baselines.js";
import { refoPlusRecipe, foStandard } from "./recipes/refo-plus.js";
import { refoRecipe } from "./recipes/refo.js";
import { rivalsRecipe } from "./recipes/rivals.js";
import { RESULTS, TEACHER_STANDARD, type DistillationTeacher, type ModelStageId, type Stage } from "./stage-types.js";

export * from "./stage-types.js";
export { widen } from "./recipes/refo-plus.js";

/**
 * The stages of `config` in an order that runs every stage after the ones it needs. `d1Size`, the number of
 * samples in D1, is needed by the crd baseline only (its memory banks hold one row per sample).
 */
export function planStages(config: RefoConfig, numClasses: number, d1Size?: number): Stage[] {
  const plan = new PlanBuilder(config, numClasses, d1Size);
  if (makesData(config)) {
    const title = config.data.align ? "detect and align the faces of D1 and D2" : "generate the synthetic dataset";
    plan.add({ id: "data", title, needs: [], spec: { kind: "data" } });
  }
  refoRecipe(plan);
  // before ReFO+, whose fo-standard proxy is this same stage
  if (config.baselines.includes("fo-standard")) foStandard(plan);
  refoPlusRecipe(plan);
  baselinesRecipe(plan);
  rivalsRecipe(plan);
  const byId = new Map(plan.stages.map((s) => [s.id, s]));
  for (const { stage, model } of plan.models) {
    const teacher = model.role === "student" ? distillationTeacher(byId, stage) : undefined;
    const exported = model.role === "student" && config.export.length > 0 ? { export: config.export } : {};
    plan.add({
      id: `eval.${stage}`,
      title: `evaluate ${model.label}`,
      needs: [...new Set([stage, ...(teacher ? [teacher.stage, teacher.classifier] : []), ...plan.dataNeeds])],
      spec: { kind: "evaluate", modelStage: stage, model, ...(teacher ? { teacher } : {}), ...exported },
    });
  }
  plan.add({
    id: RESULTS,
    title: "collect the results and write the report",
    needs: plan.models.map(({ stage }) => `eval.${stage}` as const),
    spec: { kind: "results" },
  });
  return plan.stages;
}

/**
 * The teacher a student learned from (its live teacher, or the model whose precomputed embeddings it regressed; the
 * standard teacher for the students trained without one) and the stage holding that teacher's classifier; none
 * when that teacher has no classifier here (an imported pretrained teacher).
 */
function distillationTeacher(
  byId: ReadonlyMap<string, Stage>,
  studentStage: ModelStageId,
): DistillationTeacher | undefined {
  const spec = byId.get(studentStage)!.spec;
  if (spec.kind !== "train") return undefined;
  const embedding = spec.precomputed?.teacher && byId.get(spec.precomputed.teacher)?.spec;
  const teacher =
    spec.liveTeacher ?? (embedding && embedding.kind === "embed" ? embedding.modelStage : TEACHER_STANDARD);
  const teacherSpec = byId.get(teacher)!.spec;
  if (teacherSpec.kind !== "train") return undefined;
  return { stage: teacher, classifier: teacherSpec.classifiers?.student ?? teacher };
}
