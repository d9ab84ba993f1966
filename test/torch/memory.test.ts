import { test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../../src/torch/index.js";

const { nn } = torch;
const F = nn.functional;

class SmallCnn extends nn.Module {
  readonly conv1 = this.registerModule("conv1", new nn.Conv2d(3, 16, 3, { stride: 2, padding: 1, bias: false }));
  readonly bn = this.registerModule("bn", new nn.BatchNorm2d(16));
  readonly act = this.registerModule("act", new nn.PReLU(16));
  readonly dw = this.registerModule("dw", new nn.Conv2d(16, 16, 3, { padding: 1, groups: 16 }));
  readonly fc = this.registerModule("fc", new nn.Linear(16, 10));
  forward(x: torch.Tensor): torch.Tensor {
    const h = this.dw.forward(this.act.forward(this.bn.forward(this.conv1.forward(x))));
    return this.fc.forward(F.adaptiveAvgPool2d(h, 1).flatten(1));
  }
}

test("2,000 training steps of a small CNN keep resident memory flat", () => {
  torch.manualSeed(0);
  const net = new SmallCnn();
  const x = torch.randn([16, 3, 16, 16]);
  const y = torch.randint(0, 10, [16]);
  const step = (): number =>
    torch.tidy(() => {
      const loss = F.crossEntropy(net.forward(x), y);
      net.zeroGrad();
      loss.backward();
      torch.noGrad(() => {
        for (const p of net.parameters()) p.sub_(p.grad!.mul(0.05));
      });
      return loss.item();
    });
  const first = step();
  for (let i = 0; i < 300; i++) step(); // let allocator pools reach their steady size
  const before = process.memoryUsage().rss;
  let last = first;
  for (let i = 0; i < 2000; i++) last = step();
  const growthMb = (process.memoryUsage().rss - before) / 2 ** 20;
  assert.equal(torch.trackedCount(), 0);
  assert.ok(last < first, `training should lower the loss (${first} -> ${last})`);
  // one leaked activation per step would be ~1 MB/step, i.e. gigabytes here
  assert.ok(growthMb < 24, `resident memory grew by ${growthMb.toFixed(1)} MiB over 2,000 steps`);
});
