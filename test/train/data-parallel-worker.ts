// One rank of the data-parallel trainer tests (data-parallel.test.ts spawns it with torchrun's environment):
// trains FACEKD_DP_CONFIG (a TrainConfig as JSON) on the tests' synthetic set, stopping after FACEKD_DP_STOP steps
// when set, and prints one "RESULT <json>" line.
import "./tiny-mlp.js";
import * as torch from "../../src/torch/index.js";
import { initProcessGroup } from "../../src/torch/distributed.js";
import { train, type TrainConfig } from "../../src/train/index.js";
import { syntheticSource } from "./synthetic.js";

torch.setNumThreads(1);
const config = JSON.parse(process.env.FACEKD_DP_CONFIG!) as TrainConfig;
const stop = process.env.FACEKD_DP_STOP;
const source = await syntheticSource({ classes: 4, perClass: 8, size: 16 });
using group = initProcessGroup({ timeoutMs: 20_000 });
const result = await train(config, {
  source,
  group,
  log: () => {},
  ...(stop !== undefined && { stopAt: Number(stop) }),
});
process.stdout.write(`RESULT ${JSON.stringify({ rank: group.rank, ...result })}\n`);
