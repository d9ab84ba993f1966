// Engine demo: trains a small CNN (conv, BN, PReLU, depthwise, GAP, linear) on synthetic images of 10 classes
// and prints, per epoch, the loss, held-out accuracy, throughput and resident memory. Everything runs on the
// facekd engine; the face-distillation demo comes with the `facekd demo` command.
import * as torch from "../src/torch/index.js";

const { nn, optim } = torch;
const F = nn.functional;
const CLASSES = 10;
const SIZE = 32;

/** Images of oriented colour gratings: the class sets orientation, frequency and colour; noise and phase vary. */
function makeData(count: number): { x: torch.Tensor; y: torch.Tensor } {
  return torch.tidy(() => {
    const y = torch.randint(0, CLASSES, [count]);
    const cls = y.float().reshape([count, 1, 1, 1]);
    const grid = torch.arange(SIZE, undefined, 1, { dtype: "float32" }).div(SIZE);
    const u = grid.reshape([1, 1, 1, SIZE]);
    const v = grid.reshape([1, 1, SIZE, 1]);
    const angle = cls.mul(Math.PI / CLASSES);
    const freq = cls
      .remainder(3)
      .add(2)
      .mul(2 * Math.PI);
    const phase = torch.rand([count, 1, 1, 1]).mul(2 * Math.PI);
    const wave = u.mul(angle.cos()).add(v.mul(angle.sin())).mul(freq).add(phase).sin();
    const colour = torch
      .stack([cls.div(CLASSES), cls.remainder(2), cls.remainder(5).div(5)], 1)
      .reshape([count, 3, 1, 1]);
    const x = wave.mul(colour.add(0.2)).add(torch.randn([count, 3, SIZE, SIZE]).mul(2.5));
    return { x: x.contiguous("channels_last"), y };
  });
}

class SmallCnn extends nn.Module {
  readonly stem = this.registerModule("stem", new nn.Conv2d(3, 32, 3, { stride: 2, padding: 1, bias: false }));
  readonly bn = this.registerModule("bn", new nn.BatchNorm2d(32));
  readonly act = this.registerModule("act", new nn.PReLU(32));
  readonly dw = this.registerModule("dw", new nn.Conv2d(32, 32, 3, { stride: 2, padding: 1, groups: 32 }));
  readonly pw = this.registerModule("pw", new nn.Conv2d(32, 64, 1));
  readonly fc = this.registerModule("fc", new nn.Linear(64, CLASSES));
  forward(x: torch.Tensor): torch.Tensor {
    const h = this.pw.forward(this.dw.forward(this.act.forward(this.bn.forward(this.stem.forward(x))))).relu();
    return this.fc.forward(F.adaptiveAvgPool2d(h, 1).flatten(1));
  }
}

function main(): void {
  torch.manualSeed(0);
  const epochs = 6;
  const batch = 64;
  const train = makeData(4096);
  const test = makeData(1024);
  const net = new SmallCnn().to({ memoryFormat: "channels_last" });
  const steps = (train.y.size(0) / batch) * epochs;
  const opt = new optim.SGD(net.parameters(), { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 });
  const schedule = new optim.PolynomialLR(opt, { totalSteps: steps });
  console.log(
    `facekd engine demo: libtorch ${torch.buildInfo().torchVersion}, ${torch.getNumThreads()} threads, ` +
      `${net.numParameters()} parameters, ${train.y.size(0)} training / ${test.y.size(0)} held-out images`,
  );
  console.log("epoch   loss   held-out acc   img/s   rss MiB");
  for (let epoch = 1; epoch <= epochs; epoch++) {
    net.train();
    const start = performance.now();
    let lossSum = 0;
    const order = torch.randperm(train.y.size(0));
    for (let i = 0; i + batch <= train.y.size(0); i += batch) {
      lossSum += torch.tidy(() => {
        const idx = order.narrow(0, i, batch);
        const loss = F.crossEntropy(net.forward(train.x.indexSelect(0, idx)), train.y.indexSelect(0, idx));
        opt.zeroGrad();
        loss.backward();
        opt.step();
        schedule.step();
        return loss.item();
      });
    }
    order.dispose();
    const seconds = (performance.now() - start) / 1000;
    net.eval();
    const accuracy = torch.tidy(() =>
      torch.noGrad(() => net.forward(test.x).argmax(1).eq(test.y).float().mean().item()),
    );
    const rss = process.memoryUsage().rss / 2 ** 20;
    console.log(
      `${String(epoch).padStart(5)}  ${(lossSum / (train.y.size(0) / batch)).toFixed(3)}   ` +
        `${(accuracy * 100).toFixed(1).padStart(10)} %   ${(train.y.size(0) / seconds).toFixed(0).padStart(5)}   ` +
        `${rss.toFixed(0).padStart(7)}`,
    );
  }
}

main();
