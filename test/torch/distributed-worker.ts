// One rank of the multi-process tests in distributed.test.ts, which spawns it with FACEKD_DIST_WORKER=<scenario>
// and torchrun's RANK / WORLD_SIZE / MASTER_ADDR / MASTER_PORT. It prints one "RESULT <json>" line on stdout.

import type { Tensor } from "../../src/torch/index.js";

const scenario = process.env.FACEKD_DIST_WORKER;
const TIMEOUT_MS = 20_000; // c10d gives up before the parent's 45 s kill

function report(result: object): void {
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}

function errorMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  return "no error";
}

async function collectives(): Promise<void> {
  const torch = await import("../../src/torch/index.js");
  const dist = await import("../../src/torch/distributed.js");
  using group = dist.initProcessGroup({ timeoutMs: TIMEOUT_MS });
  const r = group.rank;

  const sum = group.allReduce(torch.tensor([r + 1, 10 * (r + 1), -r]));
  const max = group.allReduce(torch.tensor(r === 0 ? [5, -1] : [2, 7]), "max");
  const min = group.allReduce(torch.tensor(r === 0 ? [5, -1] : [2, 7]), "min");
  const product = group.allReduce(torch.tensor([r + 2, r + 3]), "product");
  const avg = group.allReduce(torch.tensor([2 * r, 4, r + 0.5], { dtype: "float64" }), "avg");
  const avgLeaf = group.allReduce(torch.tensor([2 * r, 2], { requiresGrad: true }), "avg"); // a parameter
  const intSum = group.allReduce(torch.tensor([r + 1, 100], { dtype: "int64" }), "sum");
  const bcast = group.broadcast(torch.tensor([r, 100 * r + 7]), 1);
  // argument errors are raised before any communication, on every rank alike
  const errors = {
    nonContiguous: errorMessage(() => group.allReduce(torch.tensor([1, 2, 3, 4], { shape: [2, 2] }).t())),
    avgOfInts: errorMessage(() => group.allReduce(torch.tensor([1], { dtype: "int32" }), "avg")),
    badOp: errorMessage(() => group.allReduce(torch.tensor([1]), "mean" as never)),
    badRoot: errorMessage(() => group.broadcast(torch.tensor([1]), 2)),
  };
  group.barrier(); // collectives use Gloo's own connections, not the store: rank 0 may leave first
  report({
    rank: r,
    worldSize: group.worldSize,
    sum: sum.toNumbers(),
    max: max.toNumbers(),
    min: min.toNumbers(),
    product: product.toNumbers(),
    avg: avg.toNumbers(),
    avgLeaf: avgLeaf.toNumbers(),
    intSum: intSum.toNumbers(),
    intSumDtype: intSum.dtype,
    broadcast: bcast.toNumbers(),
    errors,
  });
}

async function gather(): Promise<void> {
  const torch = await import("../../src/torch/index.js");
  const dist = await import("../../src/torch/distributed.js");
  using group = dist.initProcessGroup({ timeoutMs: TIMEOUT_MS });
  const r = group.rank;

  const list = group.allGather(torch.tensor([r, r + 10]));
  const into = group.allGatherIntoTensor(torch.arange(100 * r, 100 * r + 6, 1, { dtype: "int64" }).reshape([2, 3]));
  const gathered = group.gather(torch.tensor([r, r + 0.5]), 1);
  const x = torch.tensor([r + 1, 2 * (r + 1)], { requiresGrad: true });
  const all = group.allGatherWithGrad(x);
  all
    .mul(torch.tensor([1, 2, 3, 4]).mul(r + 1))
    .mul(all)
    .sum()
    .backward();
  const errors = {
    scalar: errorMessage(() => group.allGatherIntoTensor(torch.tensor(1))),
    badRoot: errorMessage(() => group.gather(torch.tensor([1]), 2)),
    nonContiguous: errorMessage(() => group.allGatherWithGrad(torch.tensor([1, 2, 3, 4], { shape: [2, 2] }).t())),
  };
  group.barrier();
  report({
    rank: r,
    list: list.map((t) => t.toNumbers()),
    intoShape: into.shape,
    into: into.toNumbers(),
    intoDtype: into.dtype,
    gathered: gathered?.toNumbers() ?? null,
    withGrad: all.toNumbers(),
    requiresGrad: all.requiresGrad,
    grad: x.grad!.toNumbers(),
    plainRequiresGrad: group.allGatherIntoTensor(x).requiresGrad,
    errors,
  });
}

// GradientSync's overlap: from the second step on, buckets start their all_reduce during backward; w4 gets a
// gradient on rank 0 only, so its bucket starts during backward there and in sync() on rank 1
async function overlap(): Promise<void> {
  const torch = await import("../../src/torch/index.js");
  const dist = await import("../../src/torch/distributed.js");
  const { GradientSync } = await import("../../src/train/data-parallel.js");
  using group = dist.initProcessGroup({ timeoutMs: TIMEOUT_MS });
  const r = group.rank;
  torch.manualSeed(5);
  const params = [[4, 3], [3, 2], [2], [2]].map((shape) => new torch.nn.Parameter(torch.randn(shape)));
  const loss = (p: Tensor[], rank: number, step: number) => {
    const x = torch
      .arange(0, 8)
      .reshape([2, 4])
      .mul(0.1 * (rank + 1) + step);
    const y = x.mm(p[0]!).tanh().mm(p[1]!).add(p[2]!);
    return (rank === 0 ? y.mul(p[3]!) : y).pow(2).sum();
  };
  const sync = new GradientSync(group, 16, true); // small buckets, overlapped
  const steps = [];
  for (let step = 0; step < 3; step++) {
    // the expected average, from copies of the parameters (no hooks on them) run as both ranks
    const expected = torch.tidy(() => {
      const sums = params.map((p) => torch.zeros(p.shape));
      for (const rank of [0, 1]) {
        const copies = params.map((p) => p.detach().clone().requiresGrad_(true));
        loss(copies, rank, step).backward();
        copies.forEach((c, i) => c.grad && sums[i]!.add_(c.grad));
      }
      return sums.map((s) => s.div(2).toNumbers());
    });
    torch.tidy(() => loss(params, r, step).backward());
    const problem = sync.sync(params, null);
    steps.push({ problem, grads: params.map((p) => p.grad!.toNumbers()), expected });
    params.forEach((p) => (p.grad = null));
  }
  sync.close();
  group.barrier();
  report({ rank: r, steps, overlapped: sync.overlapped });
}

async function store(): Promise<void> {
  const { TCPStore } = await import("../../src/torch/distributed.js");
  const rank = Number(process.env.RANK);
  using store = new TCPStore({
    host: process.env.MASTER_ADDR!,
    port: Number(process.env.MASTER_PORT),
    isServer: rank === 0,
    worldSize: 2,
    timeoutMs: TIMEOUT_MS,
  });
  // rank 0 serves the store, so its last request waits on rank 1's last one (a get is two round trips)
  if (rank === 0) {
    store.set("greeting", "hello from rank 0 ✓");
    report({ rank, got: store.get("reply") }); // waits for rank 1
  } else {
    const got = store.get("greeting"); // waits for rank 0
    store.set("reply", `rank 1 read: ${got}`);
    report({ rank, got });
  }
}

async function initOnly(): Promise<void> {
  const dist = await import("../../src/torch/distributed.js");
  dist.initProcessGroup({ timeoutMs: TIMEOUT_MS }); // expected to throw on the environment it is given
  report({ unexpected: "initProcessGroup succeeded" });
}

const scenarios: Record<string, () => Promise<void>> = { collectives, gather, overlap, store, init: initOnly };

const run = scenario === undefined ? undefined : scenarios[scenario];
if (run === undefined) {
  throw new Error(`distributed-worker: FACEKD_DIST_WORKER must name a scenario (${Object.keys(scenarios).join(", ")})`);
}
await run();
