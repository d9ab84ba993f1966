// The last stage: every model's evaluation gathered into results.json, the intrinsic gaps to S', the findings in
// words (what was measured, whichever way it went, beside what the paper reports) and the HTML report.
import { existsSync, readFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import * as torch from "../../torch/index.js";
import { withGaps, withInterval } from "../../analysis/index.js";
import {
  ijbHeadlineFar,
  ijbTarAt,
  writeReport,
  type ModelResult,
  type RunResults,
  type StageResult,
} from "../../report/index.js";
import { evaluationFile, type StageContext } from "../context.js";
import { RIVAL_BASELINES } from "../config.js";
import { STUDENT_LABELS, TEACHER_STANDARD, type Stage } from "../plan.js";
import type { ModelEvaluation } from "./evaluate-stage.js";
import { writeJson } from "../../io/index.js";

/** What the ReFO paper reports (Li et al., CVPR 2023: IJB-C TAR@FAR = 1e-4, MobileFaceNet student). */
const PAPER_CLAIM =
  "the paper reports the ReFO student ahead (IJB-C TAR@FAR=1e-4: ReFO 92.23, ReFO+ 92.41, MFN with labels only 89.13)";

function machine(): string {
  return `${os.cpus().length} cores (${os.cpus()[0]?.model.trim() ?? "unknown CPU"}), ${os.platform()} ${os.arch()}, libtorch ${torch.buildInfo().torchVersion}, ${torch.getNumThreads()} threads`;
}

const points = (x: number): string => `${x >= 0 ? "+" : ""}${(100 * x).toFixed(2)} points`;

function findings(models: ModelResult[], set: string | undefined): string[] {
  if (set === undefined) return ["no verification set was evaluated: give data.verification packs to compare models"];
  const byId = new Map(models.map((m) => [m.id, m]));
  const verification = (id: string) => byId.get(id)?.verification[set];
  const out: string[] = [];
  const compare = (a: string, b: string, claim = "") => {
    const [x, y] = [verification(a), verification(b)];
    if (x === undefined || y === undefined) return;
    const verb = x.accuracy > y.accuracy ? "beats" : x.accuracy < y.accuracy ? "trails" : "ties";
    const spread = Math.max(x.accuracyStd, y.accuracyStd);
    out.push(
      `${byId.get(a)!.label} ${verb} ${byId.get(b)!.label} on ${set}: ${(100 * x.accuracy).toFixed(2)}% vs ` +
        `${(100 * y.accuracy).toFixed(2)}% (${points(x.accuracy - y.accuracy)}; the folds' std is up to ` +
        `${(100 * spread).toFixed(2)})${claim}`,
    );
  };
  compare(TEACHER_STANDARD, STUDENT_LABELS);
  compare("student-fo-refo", "student-fo-standard", `; ${PAPER_CLAIM}`);
  compare("student-fo-refo-plus", "student-fo-standard");
  compare("student-fo-refo", STUDENT_LABELS);
  for (const id of [
    "student-kd",
    "student-th-kd",
    "student-fo-sh-kd",
    ...RIVAL_BASELINES.map((name) => `student-${name}`),
  ])
    compare("student-fo-refo", id);
  return out;
}

/** The students on the IJB release at its headline FAR (1e-4 where resolved), the paper's own measure. */
function ijbFindings(models: ModelResult[]): string[] {
  const far = ijbHeadlineFar(models);
  if (far === undefined) return [];
  const target = models.find((m) => m.ijb)!.ijb!.target;
  const byId = new Map(models.map((m) => [m.id, m]));
  const out: string[] = [];
  for (const [a, b] of [
    ["student-fo-refo", "student-fo-standard"],
    ["student-fo-refo-plus", "student-fo-standard"],
    ["student-fo-refo", STUDENT_LABELS],
  ] as const) {
    const [x, y] = [byId.get(a), byId.get(b)];
    const [tx, ty] = [x && ijbTarAt(x, far), y && ijbTarAt(y, far)];
    if (tx === undefined || ty === undefined || tx === null || ty === null) continue;
    out.push(
      `${x!.label} vs ${y!.label} on ${target}, TAR@FAR=${far.toExponential(0)}: ${(100 * tx).toFixed(2)}% vs ` +
        `${(100 * ty).toFixed(2)}% (${points(tx - ty)})`,
    );
  }
  return out;
}

/** The teachers' intrinsic dimension before and after tailoring, against S' (supp. sec. 2 of the paper). */
function intrinsicFindings(gap: RunResults["intrinsicGap"], models: ModelResult[]): string[] {
  if (gap === null) return [];
  const row = (id: string) => gap.rows.find((r) => r.id === id);
  const label = (id: string) => models.find((m) => m.id === id)?.label ?? id;
  const reference = row(gap.reference)!;
  const standard = row(TEACHER_STANDARD);
  if (standard === undefined) return [];
  const describe = (id: string) =>
    `${label(id)} ${withInterval(row(id)!.mean, row(id)!.interval)} (gap ${withInterval(row(id)!.gap, row(id)!.gapInterval)})`;
  const tailored = ["teacher-refo", "teacher-refo-plus", "teacher-sh-kd"].filter((id) => row(id) !== undefined);
  return [
    `intrinsic dimension (TwoNN, 95% intervals): ${label(gap.reference)} ` +
      `${withInterval(reference.mean, reference.interval)}, ${describe(TEACHER_STANDARD)}` +
      (tailored.length ? `; after tailoring: ${tailored.map(describe).join(", ")}` : ""),
  ];
}

function intrinsicGap(models: ModelResult[]): RunResults["intrinsicGap"] {
  const measured = models.flatMap((m) => (m.intrinsicDimension ? [{ name: m.id, ...m.intrinsicDimension }] : []));
  if (!measured.some((m) => m.name === STUDENT_LABELS)) return null;
  const rows = withGaps(measured, STUDENT_LABELS).map(({ name, mean, std, interval, gap, gapInterval }) => ({
    id: name,
    mean,
    std,
    ...(interval && { interval }),
    gap,
    gapInterval,
  }));
  return { reference: STUDENT_LABELS, rows };
}

export async function runResultsStage(ctx: StageContext, stages: readonly Stage[]): Promise<RunResults> {
  const models: ModelResult[] = [];
  for (const stage of stages) {
    if (stage.spec.kind !== "evaluate") continue;
    const file = evaluationFile(ctx, stage.id);
    const evaluation = JSON.parse(readFileSync(file, "utf8")) as ModelEvaluation;
    const metrics = join("stages", stage.spec.modelStage, "metrics.jsonl");
    models.push({
      ...evaluation,
      metrics: existsSync(join(ctx.paths.runDir, metrics)) ? metrics : null,
      stage: stage.spec.modelStage,
    });
  }
  const stageResults: StageResult[] = stages.map(({ id, title }) => {
    const marker = ctx.folders.marker(id);
    return {
      id,
      title,
      status: marker?.status === "done" ? "done" : "pending",
      seconds: marker?.seconds ?? null,
    };
  });
  const gap = intrinsicGap(models);
  const results: RunResults = {
    name: ctx.config.name,
    createdAt: new Date().toISOString(),
    machine: machine(),
    engine: { libtorch: torch.buildInfo().torchVersion, threads: torch.getNumThreads(), workers: ctx.config.workers },
    intrinsicGap: gap,
    models,
    stages: stageResults,
    findings: [
      ...findings(models, ctx.paths.verification[0]?.name),
      ...ijbFindings(models),
      ...intrinsicFindings(gap, models),
    ],
    config: ctx.config,
  };
  writeJson(join(ctx.paths.runDir, "results.json"), results);
  await writeReport(ctx.paths.runDir);
  return results;
}
