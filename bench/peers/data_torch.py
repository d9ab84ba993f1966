"""PyTorch peer of bench/data.ts: arcface_torch's training input pipeline over the same .rec of JPEGs.

arcface_torch's MXFaceDataset reads a record with mxnet's recordio, decodes with mx.image.imdecode, then applies
RandomHorizontalFlip, ToTensor and Normalize(0.5, 0.5) in a torch DataLoader (shuffle, drop_last, workers).
mxnet is not installed here, so the record is read with a few lines of struct and decoded with PIL (Pillow's
libjpeg); the rest is arcface_torch's.

usage: data_torch.py REC BATCH WORKERS EPOCHS
Prints one JSON line: images per second over the epochs (the first batch's start-up excluded).
"""

import json
import struct
import sys
import time
from io import BytesIO

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

MAGIC = 0xCED7230A


class RecFaces(Dataset):
    def __init__(self, rec):
        self.rec = rec
        offsets = {}
        with open(rec[:-4] + ".idx") as f:
            for line in f:
                key, offset = line.split()
                offsets[int(key)] = int(offset)
        self.offsets = offsets
        self.file = None
        header, _ = self.read(0)
        self.keys = list(range(1, int(header[2])))  # insightface header layout: images are keys 1..imgEnd-1
        self.file = None  # each worker opens its own

    def read(self, key):
        if self.file is None:
            self.file = open(self.rec, "rb")
        self.file.seek(self.offsets[key])
        magic, lrec = struct.unpack("<II", self.file.read(8))
        assert magic == MAGIC and lrec >> 29 == 0
        payload = self.file.read(lrec & 0x1FFFFFFF)
        flag, label, _, _ = struct.unpack("<IfQQ", payload[:24])
        labels = struct.unpack("<%df" % flag, payload[24 : 24 + 4 * flag])
        return (flag, label) + labels, payload[24 + 4 * flag :]

    def __len__(self):
        return len(self.keys)

    def __getitem__(self, index):
        header, image = self.read(self.keys[index])
        sample = np.array(Image.open(BytesIO(image)).convert("RGB"))
        if torch.rand(1).item() < 0.5:  # RandomHorizontalFlip
            sample = sample[:, ::-1]
        x = torch.from_numpy(np.ascontiguousarray(sample)).permute(2, 0, 1).float().div_(255)  # ToTensor
        return x.sub_(0.5).div_(0.5), int(header[1])  # Normalize(mean=0.5, std=0.5)


def main():
    rec, batch, workers, epochs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(1)
    dataset = RecFaces(rec)
    loader = DataLoader(dataset, batch_size=batch, shuffle=True, num_workers=workers, drop_last=True)
    images = 0
    start = None
    for _ in range(epochs):
        for x, _ in loader:
            if start is None:  # time from the first batch on, as the loader side does
                start = time.perf_counter()
                continue
            images += x.shape[0]
    seconds = time.perf_counter() - start
    print(json.dumps({"images_per_second": images / seconds, "images": images, "seconds": seconds}))


if __name__ == "__main__":
    main()
