#!/usr/bin/python3
"""PyTorch peer of bench/engine.ts: the same measurements with torch.nn and torch.optim.

bench/engine.ts starts it with --serve and interleaves its own measurements with the peer's (one JSON request
per line on stdin, one JSON reply per line on stdout), so that background load hits both sides alike. Run alone,
it measures every case and prints one JSON object:

    /usr/bin/python3 bench/peers/engine_torch.py --threads 2 --seconds 5 --repeats 3

Needs Debian's python3-torch (PyTorch 1.13 on the same libtorch as facekd). Without it, it prints
{"error": "no-torch", "message": ...} and exits with status 3.
"""
import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time

CASES = ["train_nchw", "infer_nchw", "train_channels_last", "infer_channels_last"]
PHASES = ["forward", "backward", "optimizer", "zero_grad"]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--serve", action="store_true", help="answer JSON requests on stdin (used by bench/engine.ts)")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--size", type=int, default=112)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--seconds", type=float, default=5.0, help="minimum timed seconds per repeat (standalone)")
    p.add_argument("--repeats", type=int, default=3, help="repeats per case, median reported (standalone)")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps before a case's first repeat")
    p.add_argument("--matmul-n", type=int, default=1024)
    p.add_argument("--matmul-seconds", type=float, default=2.0)
    p.add_argument("--micro-seconds", type=float, default=1.0)
    return p.parse_args()


def loaded_blas():
    """The BLAS shared objects this process mapped (tells OpenBLAS from the generic reference BLAS)."""
    try:
        with open("/proc/self/maps") as f:
            return sorted({line.split()[-1] for line in f if "blas" in line.lower() and "/" in line})
    except OSError:
        return []


class Bench:
    def __init__(self, torch, args):
        import torch.nn as nn
        import torch.nn.functional as F

        self.torch, self.F, self.args = torch, F, args
        torch.set_num_threads(args.threads)

        class MicroCNN(nn.Module):
            # Mirrors bench/engine.ts: conv3x3/2 3->64 (no bias, BN follows), BN, PReLU(64), conv3x3 64->64,
            # depthwise conv3x3/2, conv1x1 64->128, global average pool, linear 128->512.
            def __init__(self):
                super().__init__()
                self.conv1 = nn.Conv2d(3, 64, 3, stride=2, padding=1, bias=False)
                self.bn1 = nn.BatchNorm2d(64)
                self.prelu1 = nn.PReLU(64)
                self.conv2 = nn.Conv2d(64, 64, 3, padding=1)
                self.dw = nn.Conv2d(64, 64, 3, stride=2, padding=1, groups=64)
                self.pw = nn.Conv2d(64, 128, 1)
                self.fc = nn.Linear(128, 512)

            def forward(self, x):
                x = self.prelu1(self.bn1(self.conv1(x)))
                x = self.pw(self.dw(self.conv2(x)))
                x = F.adaptive_avg_pool2d(x, 1).flatten(1)
                return self.fc(x)

        self.MicroCNN = MicroCNN
        self.setups = {}  # format -> (model, x, target, opt)
        self.steps = {}  # case -> step function
        self.warmed = set()
        self.phase_acc = {}  # case -> [sums per phase over timed steps, timed steps]
        self.current = [0.0] * 4  # phase sums of the running timed loop
        self.usage = {}  # case -> [user s, system s, minor faults, steps] over timed loops

    def info(self):
        torch = self.torch
        return {
            "side": "pytorch",
            "torch_version": torch.__version__,
            "python": platform.python_version(),
            "threads": torch.get_num_threads(),
            "blas_loaded": loaded_blas(),
        }

    def setup(self, fmt):
        if fmt not in self.setups:
            torch, a = self.torch, self.args
            mf = torch.channels_last if fmt == "channels_last" else torch.contiguous_format
            torch.manual_seed(a.seed)
            model = self.MicroCNN().to(memory_format=mf)
            x = torch.randn(a.batch, 3, a.size, a.size).contiguous(memory_format=mf)
            target = torch.randn(a.batch, 512)
            opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
            self.setups[fmt] = (model, x, target, opt)
        return self.setups[fmt]

    def step_fn(self, case):
        if case in self.steps:
            return self.steps[case]
        mode, fmt = case.split("_", 1)
        model, x, target, opt = self.setup(fmt)
        torch, F = self.torch, self.F
        clock = time.perf_counter
        cur = self.current

        if mode == "train":

            def step():
                model.train()
                t0 = clock()
                loss = F.mse_loss(model(x), target)
                t1 = clock()
                loss.backward()
                t2 = clock()
                opt.step()
                t3 = clock()
                # set_to_none: the cheaper choice (PyTorch 2's default), as facekd's zeroGrad
                opt.zero_grad(set_to_none=True)
                del loss  # frees the step's remaining tensors, as the end of facekd's tidy() scope
                t4 = clock()
                s = cur
                s[0] += t1 - t0
                s[1] += t2 - t1
                s[2] += t3 - t2
                s[3] += t4 - t3

        elif mode == "infer":

            def step():
                model.eval()
                with torch.no_grad():
                    model(x)

        else:
            raise ValueError(f"unknown case {case}")
        self.steps[case] = step
        return step

    def case(self, name, seconds, warmup):
        """One timed run of at least `seconds`: images per second."""
        step = self.step_fn(name)
        for _ in range(warmup if name not in self.warmed else 1):
            step()
        self.warmed.add(name)
        self.current[:] = [0.0] * 4
        n = 0
        r0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.perf_counter()
        while True:
            step()
            n += 1
            elapsed = time.perf_counter() - t0
            if elapsed >= seconds:
                break
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        u = self.usage.setdefault(name, [0.0, 0.0, 0, 0])
        u[0] += r1.ru_utime - r0.ru_utime
        u[1] += r1.ru_stime - r0.ru_stime
        u[2] += r1.ru_minflt - r0.ru_minflt
        u[3] += n
        if name.startswith("train"):
            totals = self.phase_acc.setdefault(name, [[0.0] * 4, 0])
            totals[0] = [totals[0][i] + self.current[i] for i in range(4)]
            totals[1] += n
        return {"value": n * self.args.batch / elapsed, "steps": n}

    def phases_ms(self):
        return {
            case: {PHASES[i]: 1000 * s[i] / n for i in range(4)} for case, (s, n) in self.phase_acc.items() if n > 0
        }

    def usage_per_step(self):
        return {
            case: {"cpu_user_ms": 1000 * u / n, "cpu_sys_ms": 1000 * s / n, "minor_faults": f / n}
            for case, (u, s, f, n) in self.usage.items()
            if n > 0
        }

    def matmul(self, seconds, n):
        torch = self.torch
        torch.manual_seed(self.args.seed)
        a, b = torch.randn(n, n), torch.randn(n, n)
        torch.mm(a, b)
        torch.mm(a, b)
        k = 0
        t0 = time.perf_counter()
        while True:
            torch.mm(a, b)
            k += 1
            elapsed = time.perf_counter() - t0
            if elapsed >= seconds:
                break
        return {"value": 2 * n**3 * k / elapsed / 1e9}

    def micro(self, seconds):
        """Per-op overhead: a loop of a.add(b) on 1-element tensors (dispatch and allocation, no real work)."""
        torch = self.torch
        a, b = torch.ones(1), torch.ones(1)
        for _ in range(1000):
            a.add(b)
        k = 0
        t0 = time.perf_counter()
        while True:
            for _ in range(1000):
                a.add(b)
            k += 1000
            elapsed = time.perf_counter() - t0
            if elapsed >= seconds:
                break
        return {"value": 1e6 * elapsed / k}

    def handle(self, req):
        op = req.get("op")
        if op == "info":
            return self.info()
        if op == "case":
            return self.case(req["name"], float(req["seconds"]), int(req.get("warmup", self.args.warmup)))
        if op == "matmul":
            return self.matmul(float(req["seconds"]), int(req.get("n", self.args.matmul_n)))
        if op == "micro":
            return self.micro(float(req["seconds"]))
        if op == "phases":
            return self.phases_ms()
        if op == "usage":
            return self.usage_per_step()
        raise ValueError(f"unknown request {req!r}")


def median_of(samples):
    return {"median": statistics.median(samples), "samples": samples}


def main():
    args = parse_args()
    try:
        import torch
    except ImportError as e:
        msg = f"{sys.executable} cannot import torch ({e}); install it with: apt-get install python3-torch"
        print(json.dumps({"error": "no-torch", "message": msg, "python": sys.executable}), flush=True)
        return 3
    bench = Bench(torch, args)

    if args.serve:
        print(json.dumps({"ready": True, **bench.info()}), flush=True)
        for line in sys.stdin:
            line = line.strip()
            if not line:
                continue
            req = json.loads(line)
            if req.get("op") == "quit":
                break
            try:
                reply = bench.handle(req)
            except Exception as e:  # report and keep serving
                reply = {"error": "request-failed", "message": f"{type(e).__name__}: {e}"}
            print(json.dumps(reply), flush=True)
        return 0

    result = {**bench.info(), "batch": args.batch, "size": args.size, "cases": {}}
    for name in CASES:
        samples, steps = [], 0
        for _ in range(args.repeats):
            r = bench.case(name, args.seconds, args.warmup)
            samples.append(r["value"])
            steps += r["steps"]
        result["cases"][name] = {**median_of(samples), "steps": steps}
    result["phases_ms"] = bench.phases_ms()
    result["usage_per_step"] = bench.usage_per_step()
    result["matmul_gflops"] = {
        "n": args.matmul_n,
        **median_of([bench.matmul(args.matmul_seconds, args.matmul_n)["value"] for _ in range(args.repeats)]),
    }
    result["micro_add_us"] = median_of([bench.micro(args.micro_seconds)["value"] for _ in range(args.repeats)])
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
