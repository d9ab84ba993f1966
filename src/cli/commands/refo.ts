// `facekd refo --config run.yaml` and `facekd demo`: the ReFO / ReFO+ comparison as resumable stages in a run folder.
import type { Command } from "commander";
import type { ProcessGroup } from "../../torch/distributed.js";
import { colors as pc } from "../colors.js";
import {
  refoConfigSchema,
  runRefo,
  runSweep,
  type PlannedStage,
  type RefoConfig,
  type RefoResult,
} from "../../refo/index.js";
import { formatResultsTable, formatSweepSummary } from "../../report/index.js";

import { locateConfigError, readConfigFile } from "../../config/index.js";
import { progress, trainingProgress } from "../progress.js";
import { toJson } from "../../io/index.js";
import { addDistOptions, runDistributed, type DistFlags } from "../launch.js";

interface RunFlags extends DistFlags {
  runDir?: string;
  fromStage?: string;
  only?: string;
  dryRun?: boolean;
  json?: boolean;
  device?: string;
  precision?: string;
}

/** The config keys set by --device and --precision. */
function overridesOf(flags: RunFlags): Record<string, unknown> {
  return {
    ...(flags.device !== undefined && { device: flags.device }),
    ...(flags.precision !== undefined && { precision: flags.precision }),
  };
}

const STATUS_COLOUR: Record<PlannedStage["status"] | "shared", (s: string) => string> = {
  shared: pc.green,
  done: pc.green,
  resume: pc.yellow,
  run: (s) => s,
  invalidated: pc.yellow,
  "outputs-changed": pc.yellow,
  forced: pc.yellow,
  excluded: pc.dim,
};

/** The plan, a line per stage; `shared`: the stages a sweep point takes from other points instead of running. */
function printPlan(plan: readonly PlannedStage[], shared: readonly string[] = [], indent = ""): void {
  const width = Math.max(...plan.map((s) => s.id.length));
  for (const stage of plan) {
    const changed = stage.changed ? ` (${stage.changed.join(", ")})` : "";
    const status = shared.includes(stage.id) ? "shared" : stage.status;
    console.log(
      `${indent}${stage.id.padEnd(width)}  ${STATUS_COLOUR[status](status.padEnd(15))}  ${stage.title}${changed}`,
    );
  }
}

async function executeSweep(config: RefoConfig, flags: RunFlags): Promise<void> {
  if (flags.only !== undefined) {
    throw new Error("--only runs one stage of one run: give it with --run-dir <sweep folder>/points/<point>");
  }
  if (Number(flags.nproc ?? 1) > 1 || process.env.WORLD_SIZE !== undefined) {
    throw new Error("a sweep runs in one process: leave out --nproc, or run its points one by one with --run-dir");
  }
  const result = await runSweep(config, {
    ...(flags.runDir !== undefined ? { runDir: flags.runDir } : {}),
    ...(flags.fromStage !== undefined ? { fromStage: flags.fromStage } : {}),
    dryRun: flags.dryRun ?? false,
    progress,
    trainProgress: trainingProgress,
  });
  if (flags.json) {
    const points = result.points.map((p) => ({
      name: p.point.name,
      values: p.point.values,
      runDir: p.runDir,
      plan: p.plan,
      shared: p.shared,
    }));
    console.log(toJson({ sweepDir: result.sweepDir, points, summary: result.summary }));
    return;
  }
  if (flags.dryRun) {
    for (const run of result.points) {
      console.log(`${run.point.name} (${run.runDir})`);
      printPlan(run.plan, run.shared, "  ");
    }
    return;
  }
  console.log(formatSweepSummary(result.summary!));
  console.log(`\nreport: ${result.sweepDir}/sweep.html`);
}

/** `footer`: printed after the results (rank 0). */
function execute(config: unknown, flags: RunFlags, footer?: string): Promise<void> {
  if (flags.dryRun) return executeOn(null, config, flags); // plans only: one process
  return runDistributed(flags, (group) => executeOn(group, config, flags, footer));
}

async function executeOn(group: ProcessGroup | null, config: unknown, flags: RunFlags, footer?: string): Promise<void> {
  const result: RefoResult = await runRefo(config, {
    ...(flags.runDir !== undefined ? { runDir: flags.runDir } : {}),
    ...(flags.fromStage !== undefined ? { fromStage: flags.fromStage } : {}),
    ...(flags.only !== undefined ? { only: flags.only } : {}),
    dryRun: flags.dryRun ?? false,
    progress,
    trainProgress: trainingProgress,
    ...(group && { group }),
  });
  if ((group?.rank ?? 0) !== 0) return;
  if (flags.json) {
    console.log(toJson({ runDir: result.runDir, plan: result.plan, results: result.results }));
    return;
  }
  if (flags.dryRun) {
    printPlan(result.plan);
    return;
  }
  if (result.results) {
    console.log(formatResultsTable(result.results));
    console.log("");
    for (const finding of result.results.findings) console.log(`- ${finding}`);
    console.log(`\nreport: ${result.runDir}/report.html`);
    if (footer !== undefined) console.log(`\n${footer}`);
  }
}

function stageOptions(command: Command): Command {
  return addDistOptions(command)
    .option("--run-dir <dir>", "the run folder (default: runDir of the config, else runs/<name>)")
    .option("--from-stage <id>", "run this stage and every stage after it again")
    .option("--only <id>", "run only this stage (the stages it needs must be finished)")
    .option("--dry-run", "print the stages and whether each is done, resumes or runs; run nothing")
    .option("--device <device>", "cpu, cuda or cuda:N, over the config's device")
    .option("--precision <dtype>", "the training stages' float32, bfloat16 or float16 (cuda), over the config's")
    .option("--json", "print the plan and the results as JSON");
}

export function registerRefo(program: Command): void {
  stageOptions(
    program
      .command("refo")
      .description(
        "ReFO / ReFO+: S' with labels, the teacher tailored by reverse distillation, feature-only students, baselines, " +
          "evaluation, intrinsic dimension and report; resumable stage by stage",
      )
      .requiredOption("--config <file>", "the run's YAML config (every key optional; see README: configuration)"),
  )
    .addHelpText(
      "after",
      "\nEvery stage is skipped when finished with the same inputs, resumed from its checkpoint when interrupted, and" +
        "\nrun again when its inputs changed (a config change invalidates the stages downstream of it only)." +
        "\n\nExamples:\n  facekd refo --config examples/configs/refo-insightface.yaml\n" +
        "  facekd refo --config run.yaml --dry-run\n  facekd refo --config run.yaml --from-stage teacher-refo\n" +
        "  facekd refo --config run.yaml --only eval.student-fo-refo\n" +
        "  facekd refo --config examples/configs/study-seeds.yaml   # a sweep: grid, mean and 95% CI over seeds\n" +
        "  facekd refo --config run.yaml --nproc 2   # training and embedding stages data-parallel on 2 processes",
    )
    .action(async (o: RunFlags & { config: string }) => {
      const config = readConfigFile(o.config, refoConfigSchema, {
        inputs: [
          "data.labeled",
          "data.unlabeled",
          "data.verification.*",
          "teacher.pretrained",
          "teacher.onnx.file",
          "evaluation.ijb.path",
        ],
        outputs: ["runDir"],
        overrides: overridesOf(o),
      });
      try {
        await (config.sweep === undefined ? execute(config, o) : executeSweep(config, o));
      } catch (error) {
        throw locateConfigError(o.config, "refo config", error); // the checks before the first stage, at the config's lines
      }
    });

  stageOptions(
    program
      .command("demo")
      .description(
        "the built-in comparison on synthetic faces: standard, ReFO and ReFO+ teachers, the labels-only student and " +
          "FO students from each teacher (about 12 minutes on 2 cores)",
      )
      .option("--quick", "a tiny version (a minute or two) to see every stage work, not to compare methods"),
  )
    .addHelpText(
      "after",
      "\nExamples:\n  facekd demo\n  facekd demo --quick --run-dir /tmp/quick-demo\n  facekd demo --dry-run",
    )
    .action(async (o: RunFlags & { quick?: boolean }) => {
      await execute({ ...(o.quick ? QUICK_DEMO : {}), ...overridesOf(o) }, o, o.quick ? undefined : DEMO_FOOTER);
    });
}

const DEMO_FOOTER =
  "One seed cannot tell these methods apart: the intervals above are the folds' and the ID sample's. The study\n" +
  "over five seeds, with 95% intervals of the paired differences, is docs/study.md beside facekd's README;\n" +
  "rerun it with\n" +
  "  facekd refo --config examples/configs/study-seeds.yaml";

/** `facekd demo --quick`: every stage on a tiny dataset and tiny models. */
const QUICK_DEMO = {
  name: "demo-quick",
  data: {
    synthetic: {
      identities: 24,
      imagesPerIdentity: 8,
      unlabeledIdentities: 24,
      unlabeledImagesPerIdentity: 8,
      pairs: 200,
      testIdentities: 24,
      idIdentities: 150,
      imageSize: 32,
    },
  },
  embeddingSize: 32,
  teacher: { model: "mbf-w0.5@32", steps: 30, batchSize: 32 },
  student: { model: "mbf-w0.25@32", steps: 30, batchSize: 32 },
  evaluation: { idSample: 150, idRepetitions: 5 },
};
