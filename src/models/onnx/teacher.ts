// Any ONNX embedding model as a feature-only distillation teacher: onnxruntime-node runs it on facekd's batches,
// converted to the input it expects (size, NCHW or NHWC, RGB or BGR, its own normalization). Its architecture
// does not matter, since feature-only distillation only reads its embeddings; training it (ReFO's step 3) needs a
// model facekd can import instead (loadBackbone).
import { readFileSync } from "node:fs";
import type * as Ort from "onnxruntime-node";
import * as torch from "../../torch/index.js";
import type { Tensor } from "../../torch/index.js";
import { ONNX_METADATA } from "./metadata.js";
import { DataType, decodeModel, type ModelProto } from "./proto.js";

/** How the teacher wants its input; unset options come from the file (facekd metadata, static dims) or defaults. */
export interface OnnxInputOptions {
  /** Square input side in pixels (the file's static size, else 112). */
  inputSize?: number;
  /** "NCHW" (default, or as the file's dims say) or "NHWC". */
  layout?: "NCHW" | "NHWC";
  /** Channel order: "RGB" (default) or "BGR". */
  color?: "RGB" | "BGR";
  /** The model's input is (pixel - mean) / std on 0..255 values (127.5 and 127.5, insightface's). */
  mean?: number;
  std?: number;
}

export type ResolvedOnnxInput = Required<OnnxInputOptions>;

/** An ONNX embedding model run by onnxruntime-node. Close it to free the session. */
export class OnnxTeacher {
  private constructor(
    readonly file: string,
    readonly input: ResolvedOnnxInput,
    readonly embeddingSize: number,
    /** The values of its float initializers: its weights (BatchNorm folded, where its exporter folded it). */
    readonly parameters: number,
    private readonly session: Ort.InferenceSession,
    private readonly ort: typeof Ort,
  ) {}

  static open(file: string, options: OnnxInputOptions = {}): Promise<OnnxTeacher> {
    return OnnxTeacher.fromBytes(readFileSync(file), file, options);
  }

  /** The model of an ONNX file in memory (an in-memory export, say); `file` names it in errors. */
  static async fromBytes(bytes: Uint8Array, file: string, options: OnnxInputOptions = {}): Promise<OnnxTeacher> {
    const model = decodeModel(bytes);
    const input = resolveInput(model, options);
    const ort = await onnxRuntime();
    // libtorch's thread count (facekd's `threads` setting) for both engines, so neither oversubscribes the other.
    // The threads spin between the operators of a run, as onnxruntime's default: sleeping and waking at each of a
    // small model's operators cost mbf a tenth to a sixth of its batch-1 speed (bench/README.md, `onnx`). They stop
    // spinning when the run returns (force_spinning_stop), leaving the cores between runs to libtorch's work
    // (decoding, flip-sum, writing) and to other processes.
    const session = await ort.InferenceSession.create(bytes, {
      intraOpNumThreads: torch.getNumThreads(),
      interOpNumThreads: 1,
      graphOptimizationLevel: "all",
      extra: { session: { intra_op: { allow_spinning: "1" }, force_spinning_stop: "1" } },
    });
    try {
      const probe = torch.zeros([1, 3, input.inputSize, input.inputSize]);
      const out = await run(ort, session, input, probe, file);
      probe.dispose();
      if (out.ndim !== 2) {
        throw new Error(
          `${file}: the output '${session.outputNames[0]}' has shape [${out.shape.join(", ")}] for one image: ` +
            "an embedding model gives [N, D]",
        );
      }
      const dim = out.size(1);
      out.dispose();
      return new OnnxTeacher(file, input, dim, parameterCount(model), session, ort);
    } catch (error) {
      await session.release();
      throw error;
    }
  }

  get inputSize(): number {
    return this.input.inputSize;
  }

  /** The memory format of images that reach the session without a copy (contiguous for NCHW, else channels_last). */
  get memoryFormat(): "contiguous" | "channels_last" {
    return this.input.layout === "NCHW" ? "contiguous" : "channels_last";
  }

  /** The embeddings [N, D] of facekd-normalized images [N, 3, S, S] ((x - 127.5) / 127.5 RGB, S = inputSize). */
  embed(images: Tensor): Promise<Tensor> {
    return run(this.ort, this.session, this.input, images, this.file);
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}

// loaded on first use, so that commands without an ONNX teacher never load onnxruntime's library
const onnxRuntime = async (): Promise<typeof Ort> => (await import("onnxruntime-node")) as typeof Ort;

async function run(
  ort: typeof Ort,
  session: Ort.InferenceSession,
  input: ResolvedOnnxInput,
  images: Tensor,
  file: string,
): Promise<Tensor> {
  const { data, shape } = torch.noGrad(() =>
    torch.tidy(() => {
      // facekd's own normalization (its exports, insightface's models) needs no arithmetic
      const same = input.mean === 127.5 && input.std === 127.5;
      let x = same
        ? images
        : images
            .mul(127.5)
            .add(127.5 - input.mean)
            .div(input.std);
      if (input.color === "BGR") x = x.flip(1);
      if (input.layout === "NHWC") x = x.permute([0, 2, 3, 1]);
      const c = x.contiguous().to("float32");
      return { data: c.data() as Float32Array, shape: c.shape };
    }),
  );
  let out;
  try {
    out = (await session.run({ [session.inputNames[0]!]: new ort.Tensor("float32", data, [...shape]) }))[
      session.outputNames[0]!
    ]!;
  } catch (error) {
    throw new Error(
      `${file}: onnxruntime could not run it on [${shape.join(", ")}] (${(error as Error).message}); ` +
        "set the teacher's input options (inputSize, layout) to what the model expects",
      { cause: error },
    );
  }
  if (out.type !== "float32") throw new Error(`${file}: the output is ${out.type}; an embedding model gives float32`);
  return torch.tensor(out.data as Float32Array, { shape: out.dims.map(Number) });
}

// options > facekd's metadata > the input's static dims > insightface's conventions
function resolveInput(model: ModelProto, options: OnnxInputOptions): ResolvedOnnxInput {
  const meta = Object.fromEntries((model.metadataProps ?? []).map((p) => [p.key, p.value]));
  const initializers = new Set((model.graph?.initializer ?? []).map((t) => t.name));
  const value = (model.graph?.input ?? []).find((v) => !initializers.has(v.name));
  const dims = (value?.type?.tensorType?.shape?.dim ?? []).map((d) => (d.dimValue != null ? Number(d.dimValue) : 0));
  const nhwc = dims.length === 4 && dims[3] === 3 && dims[1] !== 3;
  const side = nhwc ? dims[1] : dims[2];
  const number = (key: string): number | undefined => (meta[key] !== undefined ? Number(meta[key]) : undefined);
  return {
    inputSize: options.inputSize ?? (side || undefined) ?? 112,
    layout: options.layout ?? (meta[ONNX_METADATA.layout] as "NCHW" | undefined) ?? (nhwc ? "NHWC" : "NCHW"),
    color: options.color ?? (meta[ONNX_METADATA.color] as "RGB" | undefined) ?? "RGB",
    mean: options.mean ?? number(ONNX_METADATA.mean) ?? 127.5,
    std: options.std ?? number(ONNX_METADATA.std) ?? 127.5,
  };
}

const FLOAT_TYPES: ReadonlySet<number> = new Set([
  DataType.FLOAT,
  DataType.FLOAT16,
  DataType.BFLOAT16,
  DataType.DOUBLE,
]);

// integer initializers are shapes and indices, not weights
function parameterCount(model: ModelProto): number {
  return (model.graph?.initializer ?? [])
    .filter((t) => FLOAT_TYPES.has(t.dataType ?? 0))
    .reduce((sum, t) => sum + (t.dims ?? []).reduce<number>((n, d) => n * Number(d), 1), 0);
}
