// The files a run reads from outside its folder (the config's datasets, verification packs, IJB release and
// pretrained or ONNX teacher), which of them each stage reads, and their content fingerprints: a pack replaced in place reruns the
// stages that read it, as a config change does.
import { keyText } from "../config/index.js";
import type { RefoConfig } from "./config.js";
import { datasetPath, type RunPaths } from "./context.js";
import { inputFingerprint } from "../io/index.js";
import type { Stage } from "./stage-types.js";

export interface ExternalInput {
  /** The config key that names it: `data.labeled`, `data.verification[0]`, `teacher.pretrained`. */
  key: string;
  /** The same key as a path: ["data", "verification", 0]. */
  at: (string | number)[];
  path: string;
  /** A dataset (.rec, list file, folder), a verification pack, an IJB release folder, a checkpoint, or an ONNX
   *  model run as it is. */
  kind: "dataset" | "pack" | "ijb" | "checkpoint" | "onnx";
}

/** The inputs the config names (the synthetic data a run generates is a stage's output, not an input). */
export function externalInputs(config: RefoConfig): ExternalInput[] {
  const { labeled, unlabeled, verification } = config.data;
  const input = (at: (string | number)[], path: string | undefined, kind: ExternalInput["kind"]) =>
    path === undefined ? [] : [{ key: keyText(at), at, path, kind }];
  return [
    ...input(["data", "labeled"], labeled, "dataset"),
    ...input(["data", "unlabeled"], unlabeled, "dataset"),
    ...(verification ?? []).flatMap((path, i) => input(["data", "verification", i], path, "pack")),
    ...input(["teacher", "pretrained"], config.teacher.pretrained, "checkpoint"),
    ...input(["teacher", "onnx", "file"], config.teacher.onnx?.file, "onnx"),
    ...input(["evaluation", "ijb", "path"], config.evaluation.ijb?.path, "ijb"),
  ];
}

/** The paths `stage` reads outside the run's other stages. */
export function stageInputPaths(stage: Stage, paths: RunPaths, config: RefoConfig): string[] {
  const { spec } = stage;
  switch (spec.kind) {
    case "data": {
      const { align, labeled, unlabeled } = config.data;
      return align ? [labeled!, ...(unlabeled !== undefined ? [unlabeled] : [])] : [];
    }
    case "train":
      return [datasetPath(paths, spec.data), ...(spec.init !== undefined ? [spec.init] : [])];
    case "import":
    case "onnx":
      return [spec.file];
    case "embed":
      return [datasetPath(paths, spec.data)];
    case "evaluate":
      return [paths.d1, ...paths.verification.map((v) => v.path), ...(paths.ijb === null ? [] : [paths.ijb])];
    case "results":
      return [];
  }
}

/** The content fingerprint of every external input, by path. */
export function inputFingerprints(config: RefoConfig): Map<string, string> {
  const prints = new Map<string, string>();
  for (const { path } of externalInputs(config)) {
    if (!prints.has(path)) prints.set(path, inputFingerprint(path, config.fingerprint));
  }
  return prints;
}
