// A loader worker thread: reopens the dataset from its spec and answers batch requests with packed pixels.
import { parentPort, workerData } from "node:worker_threads";
import { errorMessage } from "../errors.js";
import { openSource } from "../open.js";
import type { SourceSpec } from "../source.js";
import { loadSamples, type DecodeSettings, type LoadedSamples, type SampleRequest } from "./load-samples.js";

export interface WorkerSetup extends DecodeSettings {
  spec: SourceSpec;
}

export type WorkerReply = ({ id: number } & LoadedSamples) | { id: number; error: string; errorName: string };

const setup = workerData as WorkerSetup;
const source = openSource(setup.spec);

parentPort!.on("message", (message: SampleRequest & { id: number }) => {
  loadSamples(source, message, setup).then(
    (loaded) => {
      const reply: WorkerReply = { id: message.id, ...loaded };
      const transfer = [
        loaded.pixels.buffer,
        loaded.labels.buffer,
        loaded.positions.buffer,
        loaded.flips.buffer,
      ] as ArrayBuffer[];
      parentPort!.postMessage(reply, transfer);
    },
    (error: unknown) => {
      const reply: WorkerReply = {
        id: message.id,
        error: errorMessage(error),
        errorName: error instanceof Error ? error.name : "Error",
      };
      parentPort!.postMessage(reply);
    },
  );
});
