// A periodic evaluation (such as verification on a pair set) as a listener: every `every` steps and at the end,
// with the model in eval mode; its metric picks the best checkpoint.
import type { Backbone } from "../../models/index.js";
import type { TrainListener, TrainLoop } from "../events.js";

/** A periodic evaluation (such as verification on a pair set); its `metric` picks the best checkpoint. */
export interface EvaluationHook {
  /** Run every this many steps, and at the end. */
  every: number;
  /** The key of run()'s result that ranks checkpoints. */
  metric: string;
  /** Higher is better (default) or lower. */
  mode?: "max" | "min";
  /** Called with the model in eval mode (switched back to training afterwards). */
  run(model: Backbone, step: number): Promise<Record<string, number>> | Record<string, number>;
}

/** Runs `hook` and tells every listener of `all` (this one's list, filled by the trainer) of its results. */
export function evaluationListener(hook: EvaluationHook, all: readonly TrainListener[]): TrainListener {
  const evaluate = async (loop: TrainLoop): Promise<void> => {
    loop.model.eval();
    const results = await hook.run(loop.model, loop.step);
    loop.model.train();
    for (const l of all) l.evaluation?.({ step: loop.step, results }, loop);
    const value = results[hook.metric];
    if (value === undefined)
      throw new Error(`evaluate.metric '${hook.metric}' is not among the results (${Object.keys(results).join(", ")})`);
    const best = loop.best;
    const better = best === null || (hook.mode === "min" ? value < best.value : value > best.value);
    if (better) loop.best = { metric: hook.metric, value, step: loop.step };
    loop.save(better ? ["last", "best"] : ["last"]);
  };
  return {
    async step({ step }, loop) {
      if (loop.consecutiveBadSteps === 0 && step % hook.every === 0) await evaluate(loop);
    },
    async end({ step, finished }, loop) {
      if (finished && step % hook.every !== 0) await evaluate(loop);
    },
  };
}
