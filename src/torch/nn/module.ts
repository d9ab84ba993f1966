// Module: the base of every network, with PyTorch's naming of parameters, buffers and state dicts.
import { noGrad } from "../autograd.js";
import { keep } from "../scope.js";
import type { Tensor, ToOptions } from "../tensor.js";
import { Parameter } from "./parameter.js";

export type StateDict = Map<string, Tensor>;

export interface LoadResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

export class StateDictError extends Error {
  constructor(
    message: string,
    readonly missingKeys: string[],
    readonly unexpectedKeys: string[],
    readonly shapeMismatches: string[],
  ) {
    super(message);
    this.name = "StateDictError";
  }
}

const list = (label: string, keys: string[]): string =>
  keys.length === 0
    ? ""
    : `\n  ${label} (${keys.length}): ${keys.slice(0, 20).join(", ")}${keys.length > 20 ? ", ..." : ""}`;

export abstract class Module<In extends unknown[] = [Tensor], Out = Tensor> {
  training = true;
  readonly #parameters = new Map<string, Parameter>();
  readonly #buffers = new Map<string, Tensor>();
  readonly #children = new Map<string, Module<never[], unknown>>();

  abstract forward(...inputs: In): Out;

  /** Registers a parameter under `name` (its state-dict key segment) and returns it. */
  protected registerParameter(name: string, value: Tensor, requiresGrad = true): Parameter {
    const p = value instanceof Parameter ? value : new Parameter(value, requiresGrad);
    this.#parameters.set(name, p);
    return p;
  }

  /** Registers a non-trainable tensor saved in state dicts (running statistics, counters). */
  protected registerBuffer(name: string, value: Tensor): Tensor {
    keep(value);
    this.#buffers.set(name, value);
    return value;
  }

  protected registerModule<M extends Module<never[], unknown>>(name: string, module: M): M {
    this.#children.set(name, module);
    return module;
  }

  namedChildren(): [string, Module<never[], unknown>][] {
    return [...this.#children];
  }

  /** This module and every descendant, with dotted names ("" for this one). */
  namedModules(prefix = ""): [string, Module<never[], unknown>][] {
    const out: [string, Module<never[], unknown>][] = [[prefix, this as unknown as Module<never[], unknown>]];
    for (const [name, child] of this.#children) out.push(...child.namedModules(prefix ? `${prefix}.${name}` : name));
    return out;
  }

  namedParameters(): [string, Parameter][] {
    return this.namedModules().flatMap(([prefix, m]) =>
      [...m.#parameters].map(([n, p]): [string, Parameter] => [prefix ? `${prefix}.${n}` : n, p]),
    );
  }

  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  namedBuffers(): [string, Tensor][] {
    return this.namedModules().flatMap(([prefix, m]) =>
      [...m.#buffers].map(([n, b]): [string, Tensor] => [prefix ? `${prefix}.${n}` : n, b]),
    );
  }

  /** Number of elements of all trainable parameters (as PyTorch's sum of p.numel() if p.requires_grad). */
  numParameters(trainableOnly = true): number {
    return this.parameters()
      .filter((p) => !trainableOnly || p.requiresGrad)
      .reduce((n, p) => n + p.numel(), 0);
  }

  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Sets every parameter's gradient to none. */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /**
   * The live parameters and buffers by PyTorch's dotted names, in PyTorch's order (each module's parameters,
   * then its buffers, then its children). The tensors are the module's own: do not dispose them.
   */
  stateDict(): StateDict {
    const out: StateDict = new Map();
    for (const [prefix, m] of this.namedModules()) {
      const key = (n: string): string => (prefix ? `${prefix}.${n}` : n);
      for (const [n, p] of m.#parameters) out.set(key(n), p);
      for (const [n, b] of m.#buffers) out.set(key(n), b);
    }
    return out;
  }

  /**
   * Copies values into the parameters and buffers (converting dtype). With `strict` (the default), missing
   * or unexpected keys are an error; a shape mismatch always is. The error lists every offending key.
   */
  loadStateDict(source: StateDict | Record<string, Tensor>, { strict = true } = {}): LoadResult {
    const incoming = source instanceof Map ? source : new Map(Object.entries(source));
    const result = this.checkStateDict(incoming, { strict });
    const own = this.stateDict();
    noGrad(() => {
      for (const [k, t] of own) {
        const src = incoming.get(k);
        if (src) t.copy_(src);
      }
    });
    return result;
  }

  /** What loadStateDict would say of a state dict with these names and shapes (a file's header), without values. */
  checkStateDict(
    shapes: ReadonlyMap<string, { readonly shape: readonly number[] }>,
    { strict = true } = {},
  ): LoadResult {
    const own = this.stateDict();
    const missingKeys = [...own.keys()].filter((k) => !shapes.has(k));
    const unexpectedKeys = [...shapes.keys()].filter((k) => !own.has(k));
    const shapeMismatches: string[] = [];
    for (const [k, t] of own) {
      const src = shapes.get(k);
      if (src && src.shape.join(",") !== t.shape.join(",")) {
        shapeMismatches.push(`${k}: checkpoint [${src.shape.join(", ")}] vs model [${t.shape.join(", ")}]`);
      }
    }
    if (shapeMismatches.length > 0 || (strict && (missingKeys.length > 0 || unexpectedKeys.length > 0))) {
      throw new StateDictError(
        `loadStateDict: the state dict does not fit ${this.constructor.name}` +
          list("missing keys", missingKeys) +
          list("unexpected keys", unexpectedKeys) +
          list("shape mismatches", shapeMismatches) +
          "\n  (check the model name and options, such as the embedding size, match the checkpoint)",
        missingKeys,
        unexpectedKeys,
        shapeMismatches,
      );
    }
    return { missingKeys, unexpectedKeys };
  }

  /** The device of its first parameter (or buffer): where its inputs must be. "cpu" for a module without tensors. */
  get device(): string {
    return (this.parameters()[0] ?? this.namedBuffers()[0]?.[1])?.device ?? "cpu";
  }

  /**
   * Converts parameters and buffers in place (references to them stay valid). A memory format applies to
   * 4-d tensors only; a dtype only to floating-point tensors, as in PyTorch.
   */
  to(options: ToOptions): this {
    noGrad(() => {
      for (const t of [...this.parameters(), ...this.namedBuffers().map(([, b]) => b)]) {
        const floating = t.dtype.startsWith("float") || t.dtype === "bfloat16";
        const target: ToOptions = {
          ...(options.device !== undefined ? { device: options.device } : {}),
          ...(options.dtype !== undefined && floating ? { dtype: options.dtype } : {}),
          ...(options.memoryFormat !== undefined && t.ndim === 4 ? { memoryFormat: options.memoryFormat } : {}),
        };
        if (Object.keys(target).length === 0) continue;
        const requiresGrad = t.requiresGrad;
        const converted = t.to(target);
        t.adopt(converted.detach());
        converted.dispose();
        if (requiresGrad) t.requiresGrad_(true);
      }
    });
    return this;
  }

  /** Frees every parameter and buffer of this module and its descendants. */
  dispose(): void {
    for (const p of this.parameters()) p.dispose();
    for (const [, b] of this.namedBuffers()) b.dispose();
  }
}
