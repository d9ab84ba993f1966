import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { generateAtenSource, GENERATED_FILE, parseSchema, functionName } from "../../scripts/gen-ops.js";
import * as torch from "../../src/torch/index.js";

test("schema parsing handles defaults, keyword-only arguments, aliases and tuples", () => {
  const s = parseSchema(
    'aten::max.dim(Tensor(a!) self, int[2] dim=[0, 1], bool keepdim=False, *, str mode="a,b") -> (Tensor values, Tensor indices)',
  );
  assert.equal(functionName(s), "max_dim");
  assert.deepEqual(
    s.args.map((a) => [a.type, a.name, a.optional, a.kwargOnly]),
    [
      ["Tensor(a!)", "self", false, false],
      ["int[2]", "dim", true, false],
      ["bool", "keepdim", true, false],
      ["str", "mode", true, true],
    ],
  );
  assert.deepEqual(s.returns, ["Tensor", "Tensor"]);
});

test("generated/aten.ts matches the installed libtorch's operator schemas", (t) => {
  const installed = torch.buildInfo().torchVersion;
  if (installed !== torch.aten.TORCH_VERSION) {
    t.skip(`generated for libtorch ${torch.aten.TORCH_VERSION}, this is ${installed}: run 'npm run gen:ops'`);
    return;
  }
  assert.equal(
    generateAtenSource().source,
    readFileSync(GENERATED_FILE, "utf8"),
    "the operator typings are stale: run 'npm run gen:ops'",
  );
});
