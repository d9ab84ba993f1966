// JSON files of a run folder (config, checkpoint sidecars, extraction info), written atomically.
import { writeSync } from "node:fs";
import * as torch from "../torch/index.js";

export function writeJsonAtomically(file: string, value: unknown): void {
  torch.serialize.writeAtomically(file, (fd) => void writeSync(fd, JSON.stringify(value, null, 2) + "\n"));
}
