// `facekd id`: the intrinsic dimension (TwoNN) of an embedding file, by the ReFO paper's protocol.
import type { Command } from "commander";
import { intrinsicDimension, TWO_NN_VARIANTS, type TwoNNVariant } from "../../analysis/index.js";

import * as torch from "../../torch/index.js";
import { readNpy } from "../../io/index.js";

interface IdOptions {
  sample?: string;
  fraction: string;
  repetitions: string;
  seed: string;
  variant: string;
  json?: boolean;
}

function numberOption(name: string, value: string, check: (n: number) => boolean): number {
  const n = Number(value);
  if (!check(n)) throw new Error(`--${name}: invalid value '${value}'`);
  return n;
}

export function registerId(program: Command): void {
  program
    .command("id <embeddings.npy>")
    .description("intrinsic dimension of [N, D] float32 embeddings (TwoNN): sample, 20 subsets of 90%, mean and std")
    .option("--sample <n>", "points to sample (default: --fraction of N)")
    .option("--fraction <f>", "share of the rows to sample", "0.01")
    .option("--repetitions <n>", "random 90% subsets to estimate on", "20")
    .option("--seed <n>", "seed of the sample and the subsets", "0")
    .option("--variant <name>", `estimator: ${TWO_NN_VARIANTS.join(", ")}`, "skdim")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  facekd id runs/demo/teacher/embeddings.npy\n  facekd id emb.npy --sample 58000 --variant ansuini --json",
    )
    .action((file: string, o: IdOptions) => {
      if (!(TWO_NN_VARIANTS as readonly string[]).includes(o.variant)) {
        throw new Error(`--variant: expected one of ${TWO_NN_VARIANTS.join(", ")}, got '${o.variant}'`);
      }
      const result = torch.tidy(() =>
        intrinsicDimension(readNpy(file), {
          ...(o.sample !== undefined
            ? { sampleSize: numberOption("sample", o.sample, (n) => Number.isInteger(n) && n >= 3) }
            : { sampleFraction: numberOption("fraction", o.fraction, (n) => n > 0 && n <= 1) }),
          repetitions: numberOption("repetitions", o.repetitions, (n) => Number.isInteger(n) && n >= 1),
          seed: numberOption("seed", o.seed, (n) => Number.isInteger(n) && n >= 0),
          variant: o.variant as TwoNNVariant,
        }),
      );
      if (o.json) console.log(JSON.stringify(result, null, 2));
      else
        console.log(
          `${file}: intrinsic dimension ${result.mean.toFixed(3)} ± ${result.std.toFixed(3)} ` +
            `(${result.variant}, ${result.estimates.length} subsets of ${result.subsetSize} from ${result.sampleSize} points)`,
        );
    });
}
