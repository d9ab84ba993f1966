// One rank of the multi-process tests in sharded-partial-fc.test.ts, which spawns it with FACEKD_DIST_WORKER=<scenario>,
// torchrun's environment and FACEKD_PFC_FILE (where full centres are saved and read). It prints "RESULT <json>".
import * as torch from "../../src/torch/index.js";
import { initProcessGroup } from "../../src/torch/distributed.js";
import { ArcFace, PartialFC, ShardedPartialFC } from "../../src/models/heads/index.js";
import { loadSafetensors, saveSafetensors } from "../../src/io/index.js";

const TIMEOUT_MS = 20_000; // c10d gives up before the parent's 45 s kill
const file = process.env.FACEKD_PFC_FILE!;
torch.setNumThreads(1);

function report(result: object): void {
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}

const maxDiff = (a: torch.Tensor, b: torch.Tensor): number => torch.tidy(() => a.sub(b).abs().max().item());
// float32 rounding grows with the values: differences relative to the reference's largest entry
const relDiff = (a: torch.Tensor, b: torch.Tensor): number => maxDiff(a, b) / torch.tidy(() => b.abs().max().item());
const sgd = (params: torch.nn.Parameter[]) =>
  new torch.optim.SGD(params, { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 });

// Two steps of the sharded head on 2 ranks against the unsharded head on the gathered batch (sample rate 1), then
// sampling at rate 0.5, then the full centres and momentum saved for the 3-rank scenario.
function twoRanks(): void {
  using group = initProcessGroup({ timeoutMs: TIMEOUT_MS });
  const { rank, worldSize } = group;
  const [classes, dim, batch] = [11, 8, 4]; // 11 classes: rank 0 holds 6, rank 1 holds 5
  torch.manualSeed(5); // the same data on both ranks
  const fullCentres = torch.randn([classes, dim]).mul(0.3);
  const steps = [0, 1].map(() => ({
    embeddings: torch.randn([worldSize * batch, dim]),
    labels: torch.tensor([0, 5, 6, 10, 3, 3, 7, 1], { dtype: "int64" }), // both shards, a repeat
  }));

  const reference = new PartialFC({ margin: new ArcFace(), embeddingSize: dim, numClasses: classes });
  torch.noGrad(() => reference.weight.copy_(fullCentres));
  const referenceOpt = sgd([reference.weight]);
  const head = new ShardedPartialFC({ margin: new ArcFace(), embeddingSize: dim, numClasses: classes }, group);
  const opt = sgd([head.weight]);
  head.loadFullState(new Map([["weight", fullCentres]]));

  const losses: number[][] = [];
  const gradDiffs: number[] = [];
  for (const { embeddings, labels } of steps) {
    const all = embeddings.clone().requiresGrad_(true);
    const lossRef = reference.forward(all, labels);
    lossRef.backward();
    referenceOpt.step();
    referenceOpt.zeroGrad();
    const mine = embeddings
      .narrow(0, rank * batch, batch)
      .clone()
      .requiresGrad_(true);
    const loss = head.forward(mine, labels.narrow(0, rank * batch, batch));
    loss.backward();
    opt.step();
    opt.zeroGrad();
    losses.push([loss.item(), lossRef.item()]);
    // the convention of data parallelism: each rank's embeddings get worldSize times the global gradient
    gradDiffs.push(relDiff(mine.grad!, all.grad!.narrow(0, rank * batch, batch).mul(worldSize)));
  }
  const state = head.fullState(opt);
  const refMomentum = referenceOpt.stateDict().tensors.get("state.0.momentum_buffer")!;
  const equivalence = state && {
    weightDiff: relDiff(state.get("weight")!, reference.weight),
    momentumDiff: relDiff(state.get("momentum_buffer")!, refMomentum),
    keys: [...state.keys()],
  };

  // sampling: 40 classes, 20 per rank, 10 sampled per step (positives first)
  torch.manualSeed(9);
  const sampled = new ShardedPartialFC(
    { margin: new ArcFace(), embeddingSize: dim, numClasses: 40, sampleRate: 0.5 },
    group,
  );
  const labels = torch.tensor(rank === 0 ? [3, 3, 21, 39] : [0, 17, 22, 2], { dtype: "int64" });
  const firstStep = sampled.logits(steps[0]!.embeddings.narrow(0, rank * batch, batch), labels);
  const secondStep = sampled.logits(steps[1]!.embeddings.narrow(0, rank * batch, batch), labels);
  torch.manualSeed(9);
  const again = new ShardedPartialFC(
    { margin: new ArcFace(), embeddingSize: dim, numClasses: 40, sampleRate: 0.5 },
    group,
  );
  const sameSeed = again.logits(steps[0]!.embeddings.narrow(0, rank * batch, batch), labels);
  const sampledLoss = sampled.forward(steps[0]!.embeddings.narrow(0, rank * batch, batch), labels);

  // the initial centres depend on the seed only, not on the world size
  const initial = sampled.fullState();
  torch.manualSeed(9);
  const single =
    rank === 0 ? new ShardedPartialFC({ margin: new ArcFace(), embeddingSize: dim, numClasses: 40 }, null) : null;
  const initDiff = initial && single ? maxDiff(initial.get("weight")!, single.weight) : null;

  if (state) saveSafetensors(file, state);
  group.barrier(); // the file is written before anyone reports
  report({
    rank,
    classStart: head.classStart,
    numLocal: head.numLocal,
    losses,
    gradDiffs,
    equivalence,
    sampling: {
      numSample: sampled.numSample,
      classes: firstStep.classes.toNumbers(),
      targets: firstStep.targets.toNumbers(),
      secondClasses: secondStep.classes.toNumbers(),
      sameSeedClasses: sameSeed.classes.toNumbers(),
      loss: sampledLoss.item(),
    },
    initDiff,
  });
}

// The 2-rank scenario's full centres and momentum loaded into 3 ranks' shards, and gathered back.
function threeRanks(): void {
  using group = initProcessGroup({ timeoutMs: TIMEOUT_MS });
  const { tensors: full } = loadSafetensors(file);
  const head = new ShardedPartialFC({ margin: new ArcFace(), embeddingSize: 8, numClasses: 11 }, group);
  const opt = sgd([head.weight]);
  head.loadFullState(full, opt);
  const momentum = opt.stateDict().tensors.get("state.0.momentum_buffer")!;
  const rows = (t: torch.Tensor) => t.narrow(0, head.classStart, head.numLocal);
  const back = head.fullState(opt);
  group.barrier();
  report({
    rank: group.rank,
    classStart: head.classStart,
    numLocal: head.numLocal,
    weightDiff: maxDiff(head.weight, rows(full.get("weight")!)),
    momentumDiff: maxDiff(momentum, rows(full.get("momentum_buffer")!)),
    roundTrip: back && {
      weight: maxDiff(back.get("weight")!, full.get("weight")!),
      momentum: maxDiff(back.get("momentum_buffer")!, full.get("momentum_buffer")!),
    },
  });
}

const scenarios: Record<string, () => void> = { twoRanks, threeRanks };
const run = scenarios[process.env.FACEKD_DIST_WORKER ?? ""];
if (run === undefined) {
  throw new Error(
    `sharded-partial-fc-worker: FACEKD_DIST_WORKER must name one of ${Object.keys(scenarios).join(", ")}`,
  );
}
run();
