// `facekd data`: pack folders into insightface RecordIO, align raw photos, describe and verify datasets,
// generate the synthetic dataset.
import { writeFileSync } from "node:fs";
import type { Command } from "commander";
import {
  datasetInfo,
  formatDatasetInfo,
  generateSyntheticDataset,
  packFolder,
  SYNTHETIC_TRAITS,
  verifyDataset,
  type VerifyReport,
} from "../../data/index.js";
import { integerOption } from "../parse.js";
import { progress } from "../progress.js";
import { registerDataAlign } from "./data-align.js";

export function registerData(program: Command): void {
  const data = program.command("data").description("pack, inspect, verify and generate face datasets");

  data
    .command("pack <folder> <out.rec>")
    .description(
      "pack a folder of aligned face crops (one subfolder per identity, or flat), a list file or a .rec/.bin into " +
        ".rec/.idx/property",
    )
    .option("--unlabeled", "treat the folder as unlabeled even if it has subfolders")
    .option("--skip-corrupt", "count, log and skip unreadable images instead of stopping")
    .option("--size <pixels>", "resize every image to this square size", integerOption("size", 1))
    .addHelpText(
      "after",
      "\nExamples:\n  facekd data pack faces/ out/train.rec\n  facekd data pack crops/ d2.rec --unlabeled --skip-corrupt\n" +
        "  facekd data pack train.rec clean/train.rec --skip-corrupt   # a pack without its unreadable records",
    )
    .action(
      async (folder: string, out: string, opts: { unlabeled?: boolean; skipCorrupt?: boolean; size?: number }) => {
        const bar = progress("packing");
        const summary = await packFolder(folder, out, {
          ...(opts.unlabeled ? { labeled: false } : {}),
          skipCorrupt: opts.skipCorrupt ?? false,
          ...(opts.size ? { imageSize: [opts.size, opts.size] as [number, number] } : {}),
          onProgress: (done, total) => bar.update(done, total),
        });
        bar.stop();
        console.log(JSON.stringify(summary, null, 2));
      },
    );

  registerDataAlign(data);

  data
    .command("info <path>")
    .description("counts, identities, image size (and a sample grid PNG) of a .rec, .bin, list file or folder")
    .option("--grid <file.png>", "write a grid of sample images")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  facekd data info train.rec --grid samples.png\n  facekd data info lfw.bin --json",
    )
    .action(async (path: string, opts: { grid?: string; json?: boolean }) => {
      const info = await datasetInfo(path, opts.grid ? { samplePath: opts.grid } : {});
      console.log(opts.json ? JSON.stringify(info, null, 2) : formatDatasetInfo(info));
    });

  data
    .command("verify <path>")
    .description(
      "read and strictly decode every record of a .rec, .bin, list file or folder; list the bad ones (exit 1 if any)",
    )
    .option("--workers <n>", "decoding threads (0: in the main thread)", integerOption("workers", 0), 2)
    .option("--out <file>", "write the bad records' messages to this file, one per line")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  facekd data verify train.rec\n  facekd data verify faces/ --workers 4 --out bad.txt --json\n\n" +
        "The loader's fast JPEG decoder passes damaged image data silently; run this once per pack (or train with\n" +
        "data.strictDecode) to catch every record that libjpeg finds corrupt. Exit code 1 when any record is bad.",
    )
    .action(async (path: string, opts: { workers: number; out?: string; json?: boolean }) => {
      const bar = progress("verifying");
      const report = await verifyDataset(path, { workers: opts.workers, onProgress: (d, t) => bar.update(d, t) });
      bar.stop();
      if (opts.out !== undefined) writeFileSync(opts.out, report.problems.map((p) => `${p}\n`).join(""));
      const bad = report.problems.length;
      console.log(opts.json ? JSON.stringify({ ...report, bad }, null, 2) : formatReport(report));
      if (bad > 0) {
        throw new Error(
          `${path}: ${bad} of ${report.checked} records are bad; write a pack without them with ` +
            `facekd data pack ${path} <clean.rec> --skip-corrupt`,
        );
      }
    });

  data
    .command("synth <dir>")
    .description("generate the built-in synthetic face dataset (training pack, unlabeled pack, verification pairs)")
    .option("--identities <n>", "labeled identities", integerOption("identities", 1), 1000)
    .option("--images <n>", "images per labeled identity", integerOption("images", 1), 50)
    .option(
      "--unlabeled-identities <n>",
      "identities of the unlabeled pack",
      integerOption("unlabeled-identities", 1),
      1000,
    )
    .option("--unlabeled-images <n>", "images per unlabeled identity", integerOption("unlabeled-images", 1), 20)
    .option("--pairs <n>", "verification pairs (half genuine)", integerOption("pairs", 1), 3000)
    .option(
      "--id-identities <n>",
      "an ID set (idset/idset.rec) of this many further identities, one photo each: a TwoNN sample whose nearest " +
        "neighbours are other people, as in a 1% sample of a large training set",
      integerOption("id-identities", 0),
      0,
    )
    .option("--size <pixels>", "image size", integerOption("size", 1), 112)
    .option("--difficulty <0..1>", "how alike identities are", Number, 0.5)
    .option(
      "--identity-dims <n>",
      `independent directions in which identities differ (${SYNTHETIC_TRAITS.length}: one per face trait)`,
      integerOption("identity-dims", 1),
      SYNTHETIC_TRAITS.length,
    )
    .option("--seed <n>", "random seed", Number, 0)
    .addHelpText(
      "after",
      "\nExamples:\n  facekd data synth data/synthetic\n  facekd data synth tiny --identities 20 --images 10 --pairs 100 --size 64",
    )
    .action(async (dir: string, o: Record<string, number>) => {
      const bars = new Map<string, ReturnType<typeof progress>>();
      const summary = await generateSyntheticDataset(dir, {
        seed: o.seed,
        identities: o.identities,
        imagesPerIdentity: o.images,
        unlabeledIdentities: o.unlabeledIdentities,
        unlabeledImagesPerIdentity: o.unlabeledImages,
        pairs: o.pairs,
        idIdentities: o.idIdentities,
        imageSize: o.size,
        difficulty: o.difficulty,
        identityDims: o.identityDims,
        onProgress: (stage, done, total) => {
          if (!bars.has(stage)) bars.set(stage, progress(stage));
          bars.get(stage)!.update(done, total);
        },
      });
      for (const bar of bars.values()) bar.stop();
      console.log(JSON.stringify(summary, null, 2));
    });
}

function formatReport({ path, checked, problems }: VerifyReport): string {
  return [`${path}: ${checked} records checked, ${problems.length} bad`, ...problems.map((p) => `  ${p}`)].join("\n");
}
