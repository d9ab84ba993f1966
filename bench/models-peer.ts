// The PyTorch peer of the model benchmarks (bench/peers/models_torch.py --serve): one JSON request per line on
// stdin, one JSON reply per line on stdout; its first line says whether PyTorch loaded.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import path from "node:path";
import { createInterface } from "node:readline";
import { ROOT } from "./options.js";

export class ModelsPeer {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #waiting: ((line: string) => void)[] = [];
  #stderr = "";

  constructor(
    private readonly python: string,
    threads: number,
    classes: number,
  ) {
    const script = path.join(ROOT, "bench", "peers", "models_torch.py");
    this.#child = spawn(python, [script, "--serve", `--threads=${threads}`, `--classes=${classes}`]);
    this.#child.stderr.on("data", (d: Buffer) => void (this.#stderr = (this.#stderr + d.toString()).slice(-2000)));
    createInterface({ input: this.#child.stdout }).on("line", (line) => this.#waiting.shift()?.(line));
    const fail = (why: string): void => {
      for (const w of this.#waiting.splice(0)) w(JSON.stringify({ error: "exit", message: `${why}\n${this.#stderr}` }));
    };
    this.#child.on("error", (e) => fail(`cannot start ${this.python}: ${e.message}`));
    this.#child.on("exit", (code) => fail(`the peer exited with status ${code}`));
  }

  async next(): Promise<Record<string, unknown>> {
    const line = await new Promise<string>((resolve) => this.#waiting.push(resolve));
    return JSON.parse(line) as Record<string, unknown>;
  }

  async request(req: Record<string, unknown>): Promise<Record<string, unknown>> {
    const reply = this.next();
    this.#child.stdin.write(JSON.stringify(req) + "\n");
    const r = await reply;
    if (r.error !== undefined)
      throw new Error(`the PyTorch peer failed on ${JSON.stringify(req)}: ${String(r.message)}`);
    return r;
  }

  close(): void {
    this.#child.stdin.end(JSON.stringify({ op: "quit" }) + "\n");
  }
}
