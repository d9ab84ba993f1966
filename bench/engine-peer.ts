// The PyTorch side of the engine benchmark: bench/peers/engine_torch.py (the same micro-CNN in torch.nn) as a
// child process that answers one JSON request per line, behind the same Side interface as facekd's.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import path from "node:path";
import { createInterface } from "node:readline";
import { BATCH, SIZE, type CaseName, type Phases, type Sample, type Side, type Usage } from "./engine-cases.js";
import { ROOT } from "./options.js";

export interface PeerInfo {
  torch_version: string;
  python: string;
  threads: number;
  blas_loaded: string[];
}

export class Peer implements Side {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #waiting: { resolve: (v: unknown) => void; reject: (e: Error) => void }[] = [];
  #stderr = "";
  #exited: Error | null = null;

  private constructor(child: ChildProcessWithoutNullStreams) {
    this.#child = child;
    child.stdin.on("error", () => {}); // a dead peer is reported by the exit handler
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (d: string) => {
      this.#stderr = (this.#stderr + d).slice(-4000);
    });
    createInterface({ input: child.stdout }).on("line", (line) => {
      const w = this.#waiting.shift();
      if (!w) return;
      try {
        w.resolve(JSON.parse(line));
      } catch {
        w.reject(new Error(`the peer printed something other than JSON: ${line.slice(0, 200)}`));
      }
    });
    const fail = (e: Error): void => {
      this.#exited = e;
      for (const w of this.#waiting.splice(0)) w.reject(e);
    };
    child.on("error", fail);
    child.on("exit", (code, signal) => {
      const tail = this.#stderr.trim().split("\n").slice(-8).join("\n");
      fail(new Error(`the peer exited (${signal ?? `status ${code}`})${tail ? ":\n" + tail : ""}`));
    });
  }

  /** Starts the peer (`python`, `threads` threads): resolves to it and its info, or to why it cannot run. */
  static async start(python: string, threads: number): Promise<{ peer: Peer; info: PeerInfo } | { message: string }> {
    const script = path.join(ROOT, "bench", "peers", "engine_torch.py");
    const args = [script, "--serve", `--threads=${threads}`, `--batch=${BATCH}`, `--size=${SIZE}`];
    const peer = new Peer(spawn(python, args, { stdio: ["pipe", "pipe", "pipe"] }));
    try {
      const first = (await peer.#next()) as { ready?: boolean; error?: string; message?: string } & PeerInfo;
      if (first.ready) return { peer, info: first };
      peer.close();
      return { message: first.message ?? JSON.stringify(first) };
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      peer.close();
      if (err.code === "ENOENT") {
        return { message: `${python} not found: install Python 3 and PyTorch (apt-get install python3-torch)` };
      }
      return { message: `cannot run the peer: ${err.message}` };
    }
  }

  #next(): Promise<unknown> {
    if (this.#exited) return Promise.reject(this.#exited);
    return new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }

  async request<T>(req: Record<string, unknown>): Promise<T> {
    const reply = this.#next();
    this.#child.stdin.write(JSON.stringify(req) + "\n");
    const r = (await reply) as T & { error?: string; message?: string };
    if (r.error !== undefined) throw new Error(`the peer failed on ${JSON.stringify(req)}: ${r.message}`);
    return r;
  }

  caseRun(name: CaseName, seconds: number, warmup: number): Promise<Sample> {
    return this.request({ op: "case", name, seconds, warmup });
  }
  matmul(seconds: number, n: number): Promise<Sample> {
    return this.request({ op: "matmul", seconds, n });
  }
  micro(seconds: number): Promise<Sample> {
    return this.request({ op: "micro", seconds });
  }
  phases(): Promise<Record<string, Phases>> {
    return this.request({ op: "phases" });
  }
  usage(): Promise<Record<string, Usage>> {
    return this.request({ op: "usage" });
  }

  close(): void {
    if (this.#exited === null && this.#child.stdin.writable)
      this.#child.stdin.end(JSON.stringify({ op: "quit" }) + "\n");
  }
}
