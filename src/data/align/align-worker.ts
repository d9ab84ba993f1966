// An alignment worker thread: loads the shipped detector once, then aligns the photo files it is sent.
import { parentPort, workerData } from "node:worker_threads";
import { errorMessage } from "../errors.js";
import { alignFile, type AlignedFile } from "./align-file.js";
import type { AlignPhotoOptions } from "./align-photo.js";
import { faceApiDetector, type FaceApiOptions } from "./face-api.js";

export interface AlignWorkerSetup {
  photo: AlignPhotoOptions;
  detector: FaceApiOptions;
}

export type AlignWorkerReply = ({ id: number } & AlignedFile) | { id: number; error: string };

const setup = workerData as AlignWorkerSetup;
const detector = faceApiDetector(setup.detector);

parentPort!.on("message", ({ id, path }: { id: number; path: string }) => {
  detector
    .then((loaded) => alignFile(path, loaded, setup.photo))
    .then(
      (aligned) => {
        const reply: AlignWorkerReply = { id, ...aligned };
        // copied, not transferred: sharp's buffers may share a pooled ArrayBuffer
        parentPort!.postMessage(reply);
      },
      (error: unknown) => parentPort!.postMessage({ id, error: errorMessage(error) } satisfies AlignWorkerReply),
    );
});
