// `facekd id`: the intrinsic dimension (TwoNN) of an embedding file, by the ReFO paper's protocol, with a 95%
// interval for the sampling of the points; given two files (a teacher's and a student's embeddings of the same
// samples), both IDs and their gap with a paired interval.
import type { Command } from "commander";
import {
  intrinsicDimension,
  MIN_SAMPLE_SIZE,
  pairedGap,
  TWO_NN_VARIANTS,
  withInterval,
  type IntrinsicDimensionResult,
  type TwoNNVariant,
} from "../../analysis/index.js";

import * as torch from "../../torch/index.js";
import type { ProcessGroup } from "../../torch/distributed.js";
import { addDistOptions, runDistributed, type DistFlags } from "../launch.js";
import { readNpy } from "../../io/index.js";

interface IdOptions extends DistFlags {
  sample?: string;
  fraction: string;
  repetitions: string;
  halfSamples: string;
  seed: string;
  variant: string;
  json?: boolean;
}

function numberOption(name: string, value: string, check: (n: number) => boolean): number {
  const n = Number(value);
  if (!check(n)) throw new Error(`--${name}: invalid value '${value}'`);
  return n;
}

/** Why a small sample's interval may miss, and the option that fixes it. */
function smallSampleWarning(file: string, r: IntrinsicDimensionResult, rows: number): string {
  const fix =
    rows >= MIN_SAMPLE_SIZE
      ? `use --sample ${MIN_SAMPLE_SIZE} or more (or --fraction ${Math.ceil((100 * MIN_SAMPLE_SIZE) / rows) / 100})`
      : `the file has only ${rows} rows: use them all (--fraction 1) and read the value as a rough one`;
  return (
    `warning: ${file}: a sample of ${r.sampleSize} points is below ${MIN_SAMPLE_SIZE}, where TwoNN's downward bias ` +
    `(at ID ~10) can exceed the interval; ${fix}`
  );
}

const describe = (file: string, r: IntrinsicDimensionResult): string =>
  `${file}: intrinsic dimension ${withInterval(r.mean, r.interval)} (95%, sampling of the points); ` +
  `protocol ${r.mean.toFixed(3)} ± ${r.std.toFixed(3)} ` +
  `(${r.variant}, ${r.estimates.length} subsets of ${r.subsetSize} from ${r.sampleSize} points)`;

export function registerId(program: Command): void {
  addDistOptions(program.command("id <embeddings.npy> [student.npy]"))
    .description(
      "intrinsic dimension of [N, D] float32 embeddings (TwoNN): sample, 20 subsets of 90% (mean and std), and a " +
        "95% interval from random half-samples; with two files of the same samples, both and their paired gap",
    )
    .option("--sample <n>", "points to sample (default: --fraction of N)")
    .option("--fraction <f>", "share of the rows to sample", "0.01")
    .option("--repetitions <n>", "random 90% subsets to estimate on", "20")
    .option("--half-samples <n>", "random half-samples behind the 95% interval", "100")
    .option("--seed <n>", "seed of the sample and the subsets", "0")
    .option("--variant <name>", `estimator: ${TWO_NN_VARIANTS.join(", ")}`, "skdim")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  facekd id runs/demo/teacher/embeddings.npy\n  facekd id emb.npy --sample 58000 --variant ansuini --json" +
        "\n  facekd id teacher.npy student.npy --sample 5000" +
        "\n  facekd id emb.npy --sample 50000 --nproc 2   # each process searches a share of the neighbours",
    )
    .action((file: string, second: string | undefined, o: IdOptions) =>
      runDistributed(o, async (group) => measure(file, second, o, group)),
    );
}

function measure(file: string, second: string | undefined, o: IdOptions, group: ProcessGroup | null): void {
  if (!(TWO_NN_VARIANTS as readonly string[]).includes(o.variant)) {
    throw new Error(`--variant: expected one of ${TWO_NN_VARIANTS.join(", ")}, got '${o.variant}'`);
  }
  const options = {
    ...(o.sample !== undefined
      ? { sampleSize: numberOption("sample", o.sample, (n) => Number.isInteger(n) && n >= 6) }
      : { sampleFraction: numberOption("fraction", o.fraction, (n) => n > 0 && n <= 1) }),
    repetitions: numberOption("repetitions", o.repetitions, (n) => Number.isInteger(n) && n >= 1),
    halfSamples: numberOption("half-samples", o.halfSamples, (n) => Number.isInteger(n) && n >= 2),
    seed: numberOption("seed", o.seed, (n) => Number.isInteger(n) && n >= 0),
    variant: o.variant as TwoNNVariant,
    ...(group && { group }),
  };
  const files = second === undefined ? [file] : [file, second];
  const measured = torch.tidy(() => {
    const embeddings = files.map((f) => readNpy(f));
    const rows = embeddings.map((e) => e.shape[0]!);
    if (rows.length === 2 && rows[0] !== rows[1])
      throw new Error(
        `${file} has ${rows[0]} rows but ${second} has ${rows[1]}: the gap needs both models' embeddings of ` +
          `the same samples in the same order`,
      );
    return files.map((f, i) => ({ file: f, rows: rows[i]!, result: intrinsicDimension(embeddings[i]!, options) }));
  });
  if ((group?.rank ?? 0) !== 0) return;
  const [a, b] = measured;
  for (const m of measured) if (m.result.smallSample) console.error(smallSampleWarning(m.file, m.result, m.rows));
  const gap = b === undefined ? null : pairedGap(a!.result, b.result, [a!.file, b.file]);
  if (o.json) {
    if (gap === null) console.log(JSON.stringify(a!.result, null, 2));
    else console.log(JSON.stringify({ models: measured.map((m) => ({ file: m.file, ...m.result })), gap }, null, 2));
    return;
  }
  for (const m of measured) console.log(describe(m.file, m.result));
  if (gap !== null)
    console.log(
      `gap ${a!.file} - ${b!.file}: ${withInterval(gap.gap, gap.interval)} ` +
        `(95%, paired: the same rows and half-samples for both)`,
    );
}
