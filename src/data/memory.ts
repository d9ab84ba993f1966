// A dataset held in memory (encoded images and labels), e.g. the images of a verification pack.
import type { FaceSample, FaceSource, MemorySpec } from "./source.js";

export class MemorySource implements FaceSource {
  readonly #spec: MemorySpec;

  constructor(name: string, images: Uint8Array[], labels: ArrayLike<number>, numClasses: number | null) {
    if (images.length !== labels.length) {
      throw new RangeError(`${name}: ${images.length} images but ${labels.length} labels`);
    }
    this.#spec = { kind: "memory", name, images, labels: Int32Array.from(labels), numClasses };
  }

  static fromSpec(spec: MemorySpec): MemorySource {
    return new MemorySource(spec.name, spec.images, spec.labels, spec.numClasses);
  }

  get name(): string {
    return this.#spec.name;
  }
  get length(): number {
    return this.#spec.images.length;
  }
  get numClasses(): number | null {
    return this.#spec.numClasses;
  }
  get imageSize(): null {
    return null;
  }

  read(position: number): FaceSample {
    const image = this.#spec.images[position];
    if (image === undefined)
      throw new RangeError(`${this.name}: position ${position} is outside 0..${this.length - 1}`);
    return { key: position, label: this.#spec.labels[position]!, image };
  }

  labels(): Int32Array {
    return this.#spec.labels;
  }

  spec(): MemorySpec {
    return this.#spec;
  }

  close(): void {}
}
