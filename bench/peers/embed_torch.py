#!/usr/bin/python3
"""PyTorch peer of bench/train.ts: embedding extraction (eval-mode inference) of arcface_torch's mbf.

Builds the network of models_torch.py (arcface_torch's MobileFaceNet, as facekd's `mbf`), channels_last, runs
`--warmup` untimed and `--steps` timed batches of `--batch` random 112x112 images under torch.no_grad(), and prints
one JSON line: {"value": img/s, "torch_version": ..., "threads": n}, or {"error": ..., "message": ...}.
Needs Debian's python3-torch (PyTorch 1.13).
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="mbf", choices=("mbf", "iresnet18"))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    args = p.parse_args()
    try:
        import torch
    except ImportError as e:
        print(json.dumps({"error": "no-torch", "message": f"{sys.executable} cannot import torch ({e}): "
                          "apt-get install python3-torch"}), flush=True)
        sys.exit(3)
    from models_torch import build_models

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = build_models(torch)[args.model]().eval().to(memory_format=torch.channels_last)
    x = torch.randn(args.batch, 3, 112, 112).contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        for _ in range(args.warmup):
            model(x)
        t0 = time.perf_counter()
        for _ in range(args.steps):
            model(x)
        elapsed = time.perf_counter() - t0
    print(json.dumps({"value": args.steps * args.batch / elapsed, "torch_version": torch.__version__,
                      "threads": torch.get_num_threads()}), flush=True)


if __name__ == "__main__":
    main()
