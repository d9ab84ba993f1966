// Optimizer: the base of SGD and AdamW, with PyTorch's parameter groups, per-parameter state and state dicts.
import { noGrad } from "../autograd.js";
import type { Parameter } from "../nn/parameter.js";
import { keep, tidy } from "../scope.js";
import { Tensor } from "../tensor.js";

/** The hyperparameters every optimizer's groups have. */
export interface BaseHyper {
  lr: number;
  weightDecay: number;
}

/** Parameters with per-group overrides of the optimizer's defaults, as PyTorch's param groups. */
export type ParamGroup<H extends object = BaseHyper> = { params: Parameter[] } & Partial<H>;

/** A group as the optimizer holds it: every hyperparameter resolved. `lr` is what schedulers set. */
export type ResolvedGroup<H extends object = BaseHyper> = { params: Parameter[] } & H;

/** One parameter's state: tensors (moments, buffers) and numbers (step counts). */
export type ParamState = Record<string, Tensor | number>;

/** The JSON half of an optimizer state dict; the tensors travel beside it. */
export interface OptimizerMeta {
  /** The optimizer's class name, checked on load. */
  type: string;
  /** Each group's hyperparameters and the indices (in group order) of its parameters. */
  paramGroups: ({ params: number[] } & Record<string, unknown>)[];
  /** Numeric state by parameter index, e.g. `{ "0": { step: 3 } }`. */
  state: Record<string, Record<string, number>>;
}

/**
 * An optimizer checkpoint: state tensors under keys `state.<paramIndex>.<name>` (parameter indices count through
 * the groups in order, as PyTorch's) and plain-JSON metadata.
 */
export interface OptimizerStateDict {
  tensors: Map<string, Tensor>;
  meta: OptimizerMeta;
}

const STATE_KEY = /^state\.(\d+)\.(.+)$/;

export abstract class Optimizer<H extends BaseHyper = BaseHyper, S extends ParamState = ParamState> {
  readonly paramGroups: ResolvedGroup<H>[] = [];
  protected readonly defaults: H;
  /** Per-parameter state; its tensors are kept (no tidy() scope frees them) and dispose() frees them. */
  protected readonly state = new Map<Parameter, S>();

  constructor(params: readonly Parameter[] | readonly ParamGroup<H>[], defaults: H) {
    this.defaults = defaults;
    if (params.length === 0) throw new Error(`${this.constructor.name}: got an empty parameter list`);
    const groups = params[0] instanceof Tensor ? [{ params: params as Parameter[] }] : (params as ParamGroup<H>[]);
    for (const group of groups) this.addParamGroup(group as ParamGroup<H>);
  }

  /** Adds a group of parameters, with its own overrides of the defaults (as PyTorch's add_param_group). */
  addParamGroup(group: ParamGroup<H>): void {
    const name = this.constructor.name;
    if (!Array.isArray(group.params)) {
      throw new TypeError(`${name}: a param group needs a 'params' array of Parameters`);
    }
    const seen = new Set(this.paramGroups.flatMap((g) => g.params));
    for (const p of group.params) {
      if (!(p instanceof Tensor)) throw new TypeError(`${name}: params must be Parameters, got ${String(p)}`);
      if (p.isDisposed) throw new Error(`${name}: a parameter was already disposed`);
      if (!p.isLeaf) throw new Error(`${name}: can't optimize a non-leaf tensor (detach it or wrap it in a Parameter)`);
      if (seen.has(p)) throw new Error(`${name}: a parameter appears in more than one place of the param groups`);
      seen.add(p);
    }
    const overrides = Object.fromEntries(Object.entries(group).filter(([k, v]) => k !== "params" && v !== undefined));
    const resolved = { ...structuredClone(this.defaults), ...overrides, params: [...group.params] } as ResolvedGroup<H>;
    this.validateHyper(resolved);
    this.paramGroups.push(resolved);
  }

  /** Checks a group's hyperparameters, throwing an error that names the bad one. */
  protected abstract validateHyper(group: H): void;

  /**
   * Updates one parameter in place from its gradient (called under noGrad, inside a tidy() scope that frees
   * every temporary; new state tensors must go through keep()).
   */
  protected abstract updateParam(param: Parameter, grad: Tensor, group: ResolvedGroup<H>): void;

  /** Checks loaded state (tensors already copied) and returns it typed; throws on a wrong set of keys. */
  protected abstract checkState(state: ParamState, index: number): S;

  /** One optimization step over every parameter that has a gradient; the others are skipped. */
  step(): void {
    noGrad(() => {
      for (const group of this.paramGroups) {
        for (const p of group.params) {
          tidy(() => {
            const grad = p.grad;
            if (grad !== null) this.updateParam(p, grad, group);
          });
        }
      }
    });
  }

  /** Sets every parameter's gradient to null (PyTorch's zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    for (const group of this.paramGroups) for (const p of group.params) p.grad = null;
  }

  /** Stores new state for a parameter, keeping its tensors out of any tidy() scope. */
  protected setState(param: Parameter, state: S): S {
    for (const v of Object.values(state)) if (v instanceof Tensor) keep(v);
    this.state.set(param, state);
    return state;
  }

  /**
   * The state as tensors (the optimizer's own, live: do not dispose them; clone for a snapshot) and JSON
   * metadata (hyperparameters, step counts).
   */
  stateDict(): OptimizerStateDict {
    const tensors = new Map<string, Tensor>();
    const state: OptimizerMeta["state"] = {};
    let index = 0;
    const paramGroups = this.paramGroups.map(({ params, ...hyper }) => {
      const indices = params.map((p) => {
        const i = index++;
        for (const [key, value] of Object.entries(this.state.get(p) ?? {})) {
          if (value instanceof Tensor) tensors.set(`state.${i}.${key}`, value);
          else (state[i] ??= {})[key] = value;
        }
        return i;
      });
      return { ...(structuredClone(hyper) as Record<string, unknown>), params: indices };
    });
    return { tensors, meta: { type: this.constructor.name, paramGroups, state } };
  }

  /**
   * Replaces the state and the groups' hyperparameters with a checkpoint's (the tensors are copied, to each
   * parameter's dtype and device). The groups must hold as many parameters as when it was saved.
   */
  loadStateDict(sd: OptimizerStateDict): void {
    const name = this.constructor.name;
    const { tensors, meta } = sd;
    if (meta.type !== undefined && meta.type !== name) {
      throw new Error(`${name}.loadStateDict: the state dict was saved by ${meta.type}; load it into a ${meta.type}`);
    }
    const sizes = (groups: { params: readonly unknown[] }[]): string => groups.map((g) => g.params.length).join(", ");
    if (
      meta.paramGroups.length !== this.paramGroups.length ||
      meta.paramGroups.some((g, i) => g.params.length !== this.paramGroups[i]!.params.length)
    ) {
      throw new Error(
        `${name}.loadStateDict: the state dict has param groups of sizes [${sizes(meta.paramGroups)}] but this ` +
          `optimizer's are [${sizes(this.paramGroups)}]; build the optimizer over the same parameters and groups`,
      );
    }
    const params = this.paramGroups.flatMap((g) => g.params);
    const loaded = new Map<number, Record<string, Tensor | number>>();
    const entry = (i: number, what: string): Record<string, Tensor | number> => {
      if (!Number.isInteger(i) || i >= params.length) {
        throw new Error(`${name}.loadStateDict: ${what} refers to parameter ${i}, but there are ${params.length}`);
      }
      let e = loaded.get(i);
      if (!e) loaded.set(i, (e = {}));
      return e;
    };
    for (const [key, t] of tensors) {
      const m = STATE_KEY.exec(key);
      if (!m) throw new Error(`${name}.loadStateDict: unexpected tensor key '${key}' (expected state.<index>.<name>)`);
      const i = Number(m[1]);
      const e = entry(i, `'${key}'`);
      const p = params[i]!;
      if (t.shape.join(",") !== p.shape.join(",")) {
        throw new Error(
          `${name}.loadStateDict: '${key}' has shape [${t.shape.join(", ")}] but parameter ${i} has ` +
            `[${p.shape.join(", ")}]; the checkpoint is for other parameters`,
        );
      }
      e[m[2]!] = t;
    }
    for (const [i, numbers] of Object.entries(meta.state)) {
      Object.assign(entry(Number(i), `meta.state key '${i}'`), numbers);
    }
    // Check every parameter's keys before changing anything (checkState sees the source tensors here).
    for (const [i, s] of loaded) this.checkState(s, i);
    for (const g of meta.paramGroups) this.validateHyper({ ...structuredClone(this.defaults), ...hyperOf(g) } as H);

    this.disposeState();
    noGrad(() => {
      for (const [i, s] of loaded) {
        const p = params[i]!;
        const copy: ParamState = {};
        for (const [k, v] of Object.entries(s)) {
          copy[k] = v instanceof Tensor ? copyLike(v, p) : v;
        }
        this.setState(p, this.checkState(copy, i));
      }
    });
    meta.paramGroups.forEach((g, i) => Object.assign(this.paramGroups[i]!, structuredClone(hyperOf(g))));
  }

  /** Frees the state tensors (the optimizer starts afresh if stepped again). */
  dispose(): void {
    this.disposeState();
  }

  private disposeState(): void {
    for (const s of this.state.values()) for (const v of Object.values(s)) if (v instanceof Tensor) v.dispose();
    this.state.clear();
  }
}

// A group's hyperparameters: everything but its params.
function hyperOf(group: { params: unknown }): Record<string, unknown> {
  const hyper: Record<string, unknown> = { ...group };
  delete hyper.params;
  return hyper;
}

// A fresh copy of a state tensor with the parameter's device and (for floating point) dtype, as PyTorch's load.
function copyLike(t: Tensor, param: Tensor): Tensor {
  const floating = t.dtype.startsWith("float") || t.dtype === "bfloat16";
  const copy = t.to({ device: param.device, ...(floating ? { dtype: param.dtype } : {}), copy: true });
  return keep(copy);
}
