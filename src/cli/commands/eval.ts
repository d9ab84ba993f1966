// `facekd eval`: a model on verification packs by the insightface pair protocol or on an IJB-B/C release by its
// template protocol, or the all-vs-all TAR@FAR of precomputed embeddings; tables on the terminal, and with --out
// the results as JSON and the ROC plot.
import path from "node:path";
import type { Command } from "commander";
import {
  formatPairTable,
  formatTarTable,
  verifyAllVsAll,
  writeRocPlot,
  type NamedCurve,
  type PairProtocolResult,
} from "../../eval/index.js";

import * as torch from "../../torch/index.js";
import { addModelOptions, loadModel, type ModelFlags } from "../model-options.js";
import { choice, collect, integerOption } from "../parse.js";
import { progress } from "../progress.js";
import { toJson, writeJson, readNpy, writeNpy } from "../../io/index.js";
import { IJB_TARGETS, type IjbTarget } from "../../data/index.js";
import { evaluateIjb, verifyModelOnPack } from "../../infer/index.js";
import type { ProcessGroup } from "../../torch/distributed.js";
import { addDistOptions, runDistributed, type DistFlags } from "../launch.js";

interface EvalFlags extends ModelFlags, DistFlags {
  pairs: string[];
  flipSum: boolean;
  batchSize: number;
  workers: number;
  embeddings?: string;
  labels?: string;
  allVsAll?: boolean;
  ijb?: string;
  target: IjbTarget;
  qualityWeight?: boolean;
  out?: string;
  json?: boolean;
}

/** Writes results.json and roc.svg/png into `out`; returns their paths. */
async function writeResults(out: string, results: object, curves: NamedCurve[]): Promise<string[]> {
  const json = path.join(out, "results.json");
  writeJson(json, results);
  const plot = await writeRocPlot(path.join(out, "roc"), curves);
  return [json, plot.svg, plot.png];
}

async function evalPairs(flags: EvalFlags, group: ProcessGroup | null): Promise<void> {
  if (flags.pairs.length === 0)
    throw new Error("--pairs: name at least one verification pack (.bin), or use --all-vs-all");
  const model = loadModel(flags);
  const sets: { name: string; file: string; result: PairProtocolResult }[] = [];
  try {
    for (const file of flags.pairs) {
      const name = path.basename(file, path.extname(file));
      const bar = progress(`embedding ${name}`);
      try {
        const options = {
          ...{ batchSize: flags.batchSize, flipSum: flags.flipSum, workers: flags.workers },
          ...(group && { group }),
        };
        sets.push({ name, file, result: await verifyModelOnPack(model, file, { ...options, onBatch: bar.update }) });
      } finally {
        bar.stop();
      }
    }
  } finally {
    model.dispose();
  }
  if ((group?.rank ?? 0) !== 0) return;
  const results = { model: flags.model, weights: flags.weights, flipSum: flags.flipSum, sets };
  const files = flags.out
    ? await writeResults(
        flags.out,
        results,
        sets.map(({ name, result }) => ({ name, curve: result.roc.curve })),
      )
    : [];
  if (flags.json) console.log(toJson({ ...results, files }));
  else {
    console.log(formatPairTable(sets));
    console.log(`\n${formatTarTable(sets.map(({ name, result }) => ({ name, roc: result.roc })))}`);
    for (const file of files) console.log(`wrote ${file}`);
  }
}

async function evalIjb(folder: string, flags: EvalFlags, group: ProcessGroup | null): Promise<void> {
  if (flags.pairs.length > 0) throw new Error("--ijb and --pairs: evaluate one kind of set per command");
  const model = loadModel(flags);
  const bar = progress(`embedding ${flags.target} faces`);
  let evaluated;
  try {
    evaluated = await evaluateIjb(model, folder, {
      target: flags.target,
      batchSize: flags.batchSize,
      flipSum: flags.flipSum,
      qualityWeight: flags.qualityWeight ?? true,
      onBatch: bar.update,
      ...(group && { group }),
    });
  } finally {
    bar.stop();
    model.dispose();
  }
  if ((group?.rank ?? 0) !== 0) return;
  const { scores, ...result } = evaluated;
  const results = { model: flags.model, weights: flags.weights, ...result };
  const files: string[] = [];
  if (flags.out) {
    files.push(...(await writeResults(flags.out, results, [{ name: result.target, curve: result.roc.curve }])));
    files.push(path.join(flags.out, `${result.target.toLowerCase()}_scores.npy`));
    torch.tidy(() => writeNpy(files.at(-1)!, torch.tensor(scores)));
  }
  if (flags.json) console.log(toJson({ ...results, files }));
  else {
    console.log(formatTarTable([{ name: result.target, roc: result.roc }]));
    console.log(
      `${result.faces} faces, ${result.templates} templates, ${result.roc.genuineCount} genuine and ` +
        `${result.roc.impostorCount} impostor template pairs`,
    );
    for (const file of files) console.log(`wrote ${file}`);
  }
}

async function evalAllVsAll(flags: EvalFlags, group: ProcessGroup | null): Promise<void> {
  if (flags.embeddings === undefined || flags.labels === undefined) {
    throw new Error("--all-vs-all needs --embeddings <file.npy> and --labels <file.npy> (as facekd embed writes)");
  }
  // every rank reads the embeddings and scores its share of the tiles
  const bar = progress(group ? "all-vs-all tiles (rank 0's share)" : "all-vs-all tiles");
  const { roc, binWidth, tarSlack } = torch.tidy(() =>
    verifyAllVsAll(readNpy(flags.embeddings!), readNpy(flags.labels!), {
      onProgress: bar.update,
      ...(group && { group }),
    }),
  );
  bar.stop();
  if ((group?.rank ?? 0) !== 0) return;
  const name = path.basename(flags.embeddings, ".npy");
  const results = { embeddings: flags.embeddings, labels: flags.labels, roc, binWidth, tarSlack };
  const files = flags.out ? await writeResults(flags.out, results, [{ name, curve: roc.curve }]) : [];
  if (flags.json) console.log(toJson({ ...results, files }));
  else {
    console.log(formatTarTable([{ name, roc }]));
    console.log(`${roc.genuineCount} genuine and ${roc.impostorCount} impostor pairs; thresholds ${binWidth} apart`);
    for (const file of files) console.log(`wrote ${file}`);
  }
}

export function registerEval(program: Command): void {
  addDistOptions(
    addModelOptions(
      program
        .command("eval")
        .description(
          "verification: a model on insightface .bin pair packs (10-fold accuracy, VAL@FAR, TAR@FAR, EER, AUC) or " +
            "on an IJB-B/C release (template pairs, TAR@FAR), or all-vs-all TAR@FAR of precomputed embeddings",
        ),
    ),
  )
    .option("--pairs <file.bin>", "a verification pack (repeat for several)", collect, [])
    .option("--no-flip-sum", "embed each image alone (default: image + mirror image, as insightface)")
    .option("--batch-size <n>", "images per forward pass", integerOption("batch-size", 1), 128)
    .option("--workers <n>", "decoding threads (0: in the main thread)", integerOption("workers", 0), 2)
    .option("--ijb <folder>", "an IJB release folder (e.g. IJB_release/IJBC, with meta/ and loose_crop/)")
    .option("--target <IJBC|IJBB>", "with --ijb: which meta files to read", choice("target", IJB_TARGETS), "IJBC")
    .option("--quality-weight", "with --ijb: weight each face by its detector score (the default, as eval_ijbc.py)")
    .option("--no-quality-weight", "with --ijb: pool the faces unweighted")
    .option("--all-vs-all", "score every pair of --embeddings by --labels instead of a model on packs")
    .option("--embeddings <file.npy>", "with --all-vs-all: embeddings [N, D]")
    .option("--labels <file.npy>", "with --all-vs-all: their identity labels [N]")
    .option("--out <dir>", "write results.json and the ROC plot (roc.svg, roc.png) here")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  facekd eval --model iresnet50 --weights backbone.pth --pairs lfw.bin --pairs cfp_fp.bin --out eval/\n" +
        "  facekd eval --model mbf-w0.25@32 --embedding-size 16 --weights runs/s/model.safetensors " +
        "--pairs data/synthetic/pairs.bin --json\n" +
        "  facekd eval --model iresnet50 --weights backbone.pth --ijb IJB_release/IJBC --out eval/ijbc\n" +
        "  facekd eval --model mbf --weights backbone.pth --ijb IJB_release/IJBB --target IJBB --batch-size 64 --json\n" +
        "  facekd eval --all-vs-all --embeddings emb.npy --labels emb.labels.npy --out eval/mr-all --nproc 2\n" +
        "  facekd eval --model iresnet50 --weights backbone.pth --ijb IJB_release/IJBC --nproc 2   # each a share",
    )
    .action((flags: EvalFlags) =>
      runDistributed(flags, (group) =>
        flags.allVsAll
          ? evalAllVsAll(flags, group)
          : flags.ijb !== undefined
            ? evalIjb(flags.ijb, flags, group)
            : evalPairs(flags, group),
      ),
    );
}
