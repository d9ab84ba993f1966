// ONNX test helpers: realistic batch-norm statistics, onnxruntime-node runs and Python's onnx.checker.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import ort from "onnxruntime-node";
import * as torch from "../../src/torch/index.js";
import type { Backbone } from "../../src/models/index.js";

/** Python with Debian's python3-onnx and python3-torch (FACEKD_PYTHON overrides). */
export const PYTHON = process.env.FACEKD_PYTHON ?? "/usr/bin/python3";

/**
 * Gives every BatchNorm random affine weights and the running statistics of one batch of random images (as after
 * training), so that folding them is tested on non-trivial values while the embedding stays of order one.
 */
export function randomizeBatchNorms(model: Backbone): void {
  const norms = model
    .namedModules()
    .map(([, m]) => m)
    .filter((m): m is torch.nn.BatchNorm2d => m instanceof torch.nn.BatchNorm2d || m instanceof torch.nn.BatchNorm1d);
  torch.noGrad(() =>
    torch.tidy(() => {
      for (const bn of norms) {
        bn.weight!.copy_(torch.rand(bn.weight!.shape).mul(0.5).add(0.75));
        bn.bias!.copy_(torch.randn(bn.bias!.shape).mul(0.1));
        bn.numBatchesTracked!.zero_();
        (bn as { momentum: number | null }).momentum = null; // the running statistics become this batch's
      }
      const size = model.spec.inputSize;
      model.train().forward(torch.randn([32, 3, size, size]));
      for (const bn of norms) {
        (bn as { momentum: number | null }).momentum = 0.1;
        // a channel nearly constant over the batch would be scaled by up to 1/sqrt(eps), amplifying float32
        // rounding 300-fold, as trained networks do not
        bn.runningVar!.clamp_(0.05, null);
      }
    }),
  );
  model.eval();
}

/** onnxruntime-node's output `name` for `input` (float32 [N, 3, H, W]) from an ONNX file or its bytes. */
export async function runOnnx(
  model: string | Uint8Array,
  input: torch.Tensor,
  name = "embedding",
): Promise<torch.Tensor> {
  const session =
    typeof model === "string" ? await ort.InferenceSession.create(model) : await ort.InferenceSession.create(model);
  try {
    const feeds = {
      [session.inputNames[0]!]: new ort.Tensor("float32", input.data() as Float32Array, [...input.shape]),
    };
    const out = (await session.run(feeds))[name]!;
    return torch.tensor(out.data as Float32Array, { shape: out.dims.map(Number) });
  } finally {
    await session.release();
  }
}

/** Runs onnx.checker.check_model (full check: shape inference too) on `file`; fails naming the apt line. */
export function checkWithOnnxChecker(file: string): void {
  const script = "import sys, onnx\nonnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)\nprint('ok')";
  const run = spawnSync(PYTHON, ["-c", script, file], { encoding: "utf8" });
  if (run.error || /No module named 'onnx'/.test(run.stderr)) {
    assert.fail(`Python's onnx.checker is missing (${PYTHON}): apt-get install python3-onnx`);
  }
  assert.equal(run.status, 0, `onnx.checker rejected ${file}:\n${run.stderr}`);
}

export const maxAbsDiff = (a: torch.Tensor, b: torch.Tensor): number => torch.tidy(() => a.sub(b).abs().max().item());
