#!/usr/bin/python3
"""PyTorch peer of bench/models.ts and bench/onnx.ts: arcface_torch's mbf, iresnet18 and iresnet50 in torch.nn.

bench/models.ts starts it with --serve and sends one JSON request per line on stdin; each reply is one JSON line on
stdout. Requests:
    {"op": "case", "model": "mbf", "mode": "train" | "infer", "batch": 64, "format": "channels_last",
     "steps": 3, "warmup": 1[, "seconds": 2][, "precision": "float32" | "bfloat16"]}
                                                     -> {"value": img/s, "steps": n, "parameters": count}
    {"op": "onnx", "model": "mbf", "path": "/tmp/mbf.onnx"} -> {"path": ...}  (eval mode, dynamic batch)
    {"op": "quit"}
The first line it prints is {"ready": true, "torch_version": ..., "threads": n} or {"error": ..., "message": ...}.

The networks follow insightface's arcface_torch definitions (IResNet with IBasicBlock, MobileFaceNet with the GDC
head); the training step is an ArcFace head (s=64, m=0.5) over 1,000 classes and SGD(lr 0.1, momentum 0.9,
weight decay 5e-4), as in bench/models.ts. Needs Debian's python3-torch (PyTorch 1.13).
"""
import argparse
import json
import math
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--serve", action="store_true", help="answer JSON requests on stdin (used by bench/models.ts)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--size", type=int, default=112)
    p.add_argument("--classes", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args()


def build_models(torch):
    nn = torch.nn

    class IBasicBlock(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.bn1 = nn.BatchNorm2d(cin)
            self.conv1 = nn.Conv2d(cin, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.prelu = nn.PReLU(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, stride, 1, bias=False)
            self.bn3 = nn.BatchNorm2d(cout)
            self.downsample = None
            if stride != 1 or cin != cout:
                self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            out = self.bn3(self.conv2(self.prelu(self.bn2(self.conv1(self.bn1(x))))))
            return out + (self.downsample(x) if self.downsample is not None else x)

    class IResNet(nn.Module):
        def __init__(self, layout, embedding=512):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.prelu = nn.PReLU(64)
            cin = 64
            for i, (width, blocks) in enumerate(zip((64, 128, 256, 512), layout)):
                layer = [IBasicBlock(cin if b == 0 else width, width, 2 if b == 0 else 1) for b in range(blocks)]
                setattr(self, f"layer{i + 1}", nn.Sequential(*layer))
                cin = width
            self.bn2 = nn.BatchNorm2d(512)
            self.dropout = nn.Dropout(0.0)
            self.fc = nn.Linear(512 * 7 * 7, embedding)
            self.features = nn.BatchNorm1d(embedding)
            nn.init.constant_(self.features.weight, 1.0)
            self.features.weight.requires_grad = False
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.normal_(m.weight, 0, 0.1)

        def forward(self, x):
            x = self.prelu(self.bn1(self.conv1(x)))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            x = self.dropout(torch.flatten(self.bn2(x), 1))
            return self.features(self.fc(x))

    class ConvBlock(nn.Module):
        """Conv, BN and PReLU (`act`), or conv and BN (arcface_torch's ConvBlock and LinearBlock)."""

        def __init__(self, cin, cout, k=1, s=1, p=0, g=1, act=True):
            super().__init__()
            layers = [nn.Conv2d(cin, cout, k, s, p, groups=g, bias=False), nn.BatchNorm2d(cout)]
            self.layers = nn.Sequential(*layers, *([nn.PReLU(cout)] if act else []))

        def forward(self, x):
            return self.layers(x)

    class DepthWise(nn.Module):
        def __init__(self, cin, cout, hidden, stride, residual):
            super().__init__()
            self.residual = residual
            self.layers = nn.Sequential(
                ConvBlock(cin, hidden),
                ConvBlock(hidden, hidden, 3, stride, 1, g=hidden),
                ConvBlock(hidden, cout, act=False),
            )

        def forward(self, x):
            y = self.layers(x)
            return x + y if self.residual else y

    class Residual(nn.Module):
        def __init__(self, c, n, hidden):
            super().__init__()
            self.layers = nn.Sequential(*[DepthWise(c, c, hidden, 1, True) for _ in range(n)])

        def forward(self, x):
            return self.layers(x)

    class GDC(nn.Module):
        def __init__(self, embedding):
            super().__init__()
            self.layers = nn.Sequential(
                ConvBlock(512, 512, 7, g=512, act=False), nn.Flatten(), nn.Linear(512, embedding, bias=False),
                nn.BatchNorm1d(embedding))

        def forward(self, x):
            return self.layers(x)

    class MobileFaceNet(nn.Module):
        def __init__(self, blocks=(1, 4, 6, 2), scale=2, embedding=512):
            super().__init__()
            narrow, wide = 64 * scale, 128 * scale
            first = ConvBlock(narrow, narrow, 3, 1, 1, g=64) if blocks[0] == 1 else Residual(narrow, blocks[0], 128)
            self.layers = nn.ModuleList([
                ConvBlock(3, narrow, 3, 2, 1), first,
                DepthWise(narrow, narrow, 128, 2, False), Residual(narrow, blocks[1], 128),
                DepthWise(narrow, wide, 256, 2, False), Residual(wide, blocks[2], 256),
                DepthWise(wide, wide, 512, 2, False), Residual(wide, blocks[3], 256),
            ])
            self.conv_sep = ConvBlock(wide, 512)
            self.features = GDC(embedding)
            for m in self.modules():
                if isinstance(m, (nn.Conv2d, nn.Linear)):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

        def forward(self, x):
            for layer in self.layers:
                x = layer(x)
            return self.features(self.conv_sep(x))

    return {
        "mbf": lambda: MobileFaceNet(),
        "iresnet18": lambda: IResNet((2, 2, 2, 2)),
        "iresnet50": lambda: IResNet((3, 4, 14, 3)),
    }


class ArcFaceHead:
    """Class centres with ArcFace's margin on the target cosine (arcface_torch's safe form past theta + m = pi)."""

    def __init__(self, torch, classes, embedding, s=64.0, m=0.5):
        self.torch, self.s, self.m = torch, s, m
        self.weight = torch.nn.Parameter(torch.randn(classes, embedding) * 0.01)

    def loss(self, embeddings, labels):
        torch, F = self.torch, self.torch.nn.functional
        cosine = F.linear(F.normalize(embeddings), F.normalize(self.weight)).clamp(-1, 1)
        target = cosine.gather(1, labels[:, None])
        sine = (1 - target * target).clamp_min(1e-12).sqrt()
        margined = target * math.cos(self.m) - sine * math.sin(self.m)
        target = torch.where(target > math.cos(math.pi - self.m), margined, target - self.m * math.sin(self.m))
        logits = torch.where(F.one_hot(labels, cosine.size(1)) != 0, target, cosine) * self.s
        return F.cross_entropy(logits, labels)


class Bench:
    def __init__(self, torch, args):
        self.torch, self.args = torch, args
        torch.set_num_threads(args.threads)
        self.factories = build_models(torch)
        self.setups = {}

    def setup(self, model_name, batch, fmt):
        key = (model_name, batch, fmt)
        if key not in self.setups:
            torch = self.torch
            torch.manual_seed(self.args.seed)
            model = self.factories[model_name]()
            x = torch.randn(batch, 3, self.args.size, self.args.size)
            if fmt == "channels_last":
                model = model.to(memory_format=torch.channels_last)
                x = x.contiguous(memory_format=torch.channels_last)
            labels = torch.randint(0, self.args.classes, (batch,))
            head = ArcFaceHead(torch, self.args.classes, 512)
            params = list(model.parameters()) + [head.weight]
            opt = torch.optim.SGD(params, lr=0.1, momentum=0.9, weight_decay=5e-4)
            self.setups = {key: (model, head, opt, x, labels)}  # one model at a time
        return self.setups[key]

    def case(self, req):
        torch = self.torch
        model, head, opt, x, labels = self.setup(req["model"], req["batch"], req["format"])
        # "precision": "bfloat16" runs the forward pass (and the loss) under CPU autocast, as bench/amp.ts asks
        bf16 = req.get("precision", "float32") == "bfloat16"

        def autocast():
            return torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16)

        if req["mode"] == "train":
            model.train()

            def step():
                with autocast():
                    loss = head.loss(model(x), labels)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
        else:
            model.eval()

            def step():
                with torch.no_grad(), autocast():
                    model(x)

        for _ in range(req["warmup"]):
            step()
        # `steps` steps, and with `seconds` as many more as that takes
        steps, t0 = 0, time.perf_counter()
        while steps < req.get("steps", 1) or time.perf_counter() - t0 < req.get("seconds", 0):
            step()
            steps += 1
        elapsed = time.perf_counter() - t0
        parameters = sum(p.numel() for p in model.parameters())
        return {"value": steps * req["batch"] / elapsed, "steps": steps, "parameters": parameters}

    def onnx(self, req):
        torch = self.torch
        torch.manual_seed(self.args.seed)
        model = self.factories[req["model"]]().eval()
        x = torch.randn(1, 3, self.args.size, self.args.size)
        torch.onnx.export(model, x, req["path"], opset_version=13, input_names=["input"], output_names=["embedding"],
                          dynamic_axes={"input": {0: "batch"}, "embedding": {0: "batch"}})
        return {"path": req["path"]}


def main():
    args = parse_args()
    try:
        import torch
    except ImportError as e:
        print(json.dumps({"error": "no-torch", "message": f"{sys.executable} cannot import torch ({e}): "
                          "apt-get install python3-torch"}), flush=True)
        sys.exit(3)
    bench = Bench(torch, args)
    print(json.dumps({"ready": True, "torch_version": torch.__version__, "threads": torch.get_num_threads()}),
          flush=True)
    if not args.serve:
        for model in ("mbf", "iresnet18"):
            for mode in ("train", "infer"):
                req = {"model": model, "mode": mode, "batch": 32, "format": "channels_last", "steps": 3, "warmup": 1}
                print(json.dumps({**req, **bench.case(req)}), flush=True)
        return
    for line in sys.stdin:
        req = json.loads(line)
        try:
            if req["op"] == "quit":
                break
            reply = bench.case(req) if req["op"] == "case" else bench.onnx(req)
        except Exception as e:  # reported to bench/models.ts, which names the request
            reply = {"error": type(e).__name__, "message": str(e)}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
