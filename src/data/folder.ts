// Datasets of image files: a labeled folder (one subfolder per identity), an unlabeled folder (flat or nested)
// and list files ("path label" lines). Paths are sorted by name so that labels and order repeat everywhere.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, extname, isAbsolute, join, resolve } from "node:path";
import { CorruptRecordError, DataError, errorMessage } from "./errors.js";
import type { FaceSample, FaceSource, FilesSpec } from "./source.js";

export const IMAGE_EXTENSIONS = [".jpg", ".jpeg", ".png", ".webp"];

export function isImageFile(name: string): boolean {
  return IMAGE_EXTENSIONS.includes(extname(name).toLowerCase());
}

export function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function entries(dir: string): { dirs: string[]; images: string[] } {
  const dirs: string[] = [];
  const images: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const isDir = entry.isDirectory() || (entry.isSymbolicLink() && statSync(path).isDirectory());
    if (isDir) dirs.push(entry.name);
    else if (isImageFile(entry.name)) images.push(entry.name);
  }
  return { dirs: dirs.sort(byName), images: images.sort(byName) };
}

function checkFolder(root: string): void {
  if (!existsSync(root) || !statSync(root).isDirectory()) {
    throw new DataError(`${root}: no such folder; check the path`);
  }
}

/** Image files read from disk; built by the functions below or from a spec in a worker. */
export class FilesSource implements FaceSource {
  readonly #spec: FilesSpec;
  /** Identity names (subfolder names) by label, for labeled folders. */
  readonly identityNames: readonly string[] | null;

  constructor(spec: FilesSpec, identityNames: readonly string[] | null = null) {
    this.#spec = spec;
    this.identityNames = identityNames;
  }

  get name(): string {
    return this.#spec.name;
  }
  get length(): number {
    return this.#spec.paths.length;
  }
  get numClasses(): number | null {
    return this.#spec.numClasses;
  }
  get imageSize(): null {
    return null;
  }

  read(position: number): FaceSample {
    const path = this.#spec.paths[position];
    if (path === undefined) throw new RangeError(`${this.name}: position ${position} is outside 0..${this.length - 1}`);
    let image: Uint8Array;
    try {
      image = readFileSync(path);
    } catch (error) {
      throw new CorruptRecordError(`${path}: cannot read the image (${errorMessage(error)}); restore or remove it`);
    }
    if (image.length === 0) throw new CorruptRecordError(`${path}: the file is empty; restore or remove it`);
    return { key: path, label: this.#spec.labels[position]!, image };
  }

  labels(): Int32Array {
    return this.#spec.labels;
  }

  spec(): FilesSpec {
    return this.#spec;
  }

  close(): void {}
}

/** One subfolder per identity (labels 0.. in name order), images inside each. */
export function openLabeledFolder(root: string): FilesSource {
  checkFolder(root);
  const top = entries(root);
  if (top.images.length > 0) {
    throw new DataError(
      `${root}: holds ${top.images.length} images directly (e.g. ${top.images[0]}), but a labeled folder has one ` +
        "subfolder per identity: move them into identity folders, or open it as an unlabeled folder",
    );
  }
  if (top.dirs.length === 0) {
    throw new DataError(`${root}: the folder is empty; a labeled folder needs one subfolder of images per identity`);
  }
  const paths: string[] = [];
  const labels: number[] = [];
  top.dirs.forEach((name, label) => {
    const images = entries(join(root, name)).images;
    if (images.length === 0) {
      throw new DataError(
        `${join(root, name)}: identity folder ${label} has no images (${IMAGE_EXTENSIONS.join(", ")}); ` +
          "add its images or remove the folder",
      );
    }
    for (const image of images) {
      paths.push(join(root, name, image));
      labels.push(label);
    }
  });
  const spec: FilesSpec = {
    kind: "files",
    name: root,
    paths,
    labels: Int32Array.from(labels),
    numClasses: top.dirs.length,
  };
  return new FilesSource(spec, top.dirs);
}

/** Every image under `root`, nested folders included, unlabeled (label -1). */
export function openUnlabeledFolder(root: string): FilesSource {
  checkFolder(root);
  const paths: string[] = [];
  const walk = (dir: string): void => {
    const { dirs, images } = entries(dir);
    for (const image of images) paths.push(join(dir, image));
    for (const sub of dirs) walk(join(dir, sub));
  };
  walk(root);
  if (paths.length === 0) {
    throw new DataError(`${root}: no images (${IMAGE_EXTENSIONS.join(", ")}) in the folder or below it`);
  }
  return new FilesSource({
    kind: "files",
    name: root,
    paths,
    labels: new Int32Array(paths.length).fill(-1),
    numClasses: null,
  });
}

/**
 * A list file of "path label" lines (paths relative to the list's folder; the label is the last field, so paths
 * may hold spaces). `numClasses` defaults to the largest label + 1.
 */
export function openListFile(listPath: string, options: { numClasses?: number } = {}): FilesSource {
  if (!existsSync(listPath)) throw new DataError(`${listPath}: no such list file; check the path`);
  const base = dirname(resolve(listPath));
  const paths: string[] = [];
  const labels: number[] = [];
  readFileSync(listPath, "utf8")
    .split("\n")
    .forEach((raw, i) => {
      const line = raw.trim();
      if (line === "" || line.startsWith("#")) return;
      const cut = line.search(/\s+\S+$/);
      const label = cut < 0 ? NaN : Number(line.slice(cut).trim());
      if (cut < 0 || !Number.isSafeInteger(label) || label < 0) {
        throw new DataError(
          `${listPath}: line ${i + 1} is ${JSON.stringify(line.slice(0, 80))}, expected "path label" with a ` +
            "non-negative integer label",
        );
      }
      if (options.numClasses !== undefined && label >= options.numClasses) {
        throw new DataError(
          `${listPath}: line ${i + 1} has label ${label}, outside the ${options.numClasses} identities ` +
            `0..${options.numClasses - 1}; fix the label or the identity count`,
        );
      }
      const path = line.slice(0, cut);
      paths.push(isAbsolute(path) ? path : join(base, path));
      labels.push(label);
    });
  if (paths.length === 0) throw new DataError(`${listPath}: the list file names no images`);
  const numClasses = options.numClasses ?? labels.reduce((m, l) => Math.max(m, l), 0) + 1;
  return new FilesSource({ kind: "files", name: listPath, paths, labels: Int32Array.from(labels), numClasses });
}
