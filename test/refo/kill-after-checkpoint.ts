// A `facekd refo` run that kills itself with SIGKILL right after one stage's training wrote its checkpoint of a given
// step: a crash at a known point. Usage: node kill-after-checkpoint.js <config.yaml> <runDir> <stage> <step>
import { resolveRefoConfig, runRefo } from "../../src/refo/index.js";
import { readConfigFile } from "../../src/config/index.js";
import { refoConfigSchema } from "../../src/refo/config.js";

const [configFile, runDir, stage, step] = process.argv.slice(2) as [string, string, string, string];
const config = resolveRefoConfig(readConfigFile(configFile, refoConfigSchema));
await runRefo(config, {
  runDir,
  log: () => {},
  trainProgress: () => ({
    listener: {
      step: (_event, loop) => {
        if (loop.config.runDir.endsWith(`/stages/${stage}`) && loop.savedAt === Number(step)) {
          process.kill(process.pid, "SIGKILL");
        }
      },
    },
    log: () => {},
  }),
});
