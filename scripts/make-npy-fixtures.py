#!/usr/bin/env python3
"""Writes test/fixtures/npy/: .npy files made by numpy itself (Debian's python3-numpy) in each format version,
dtype and layout that facekd reads, and expected.json with each file's dtype, shape and values in C order."""
import json
import pathlib

import numpy as np
from numpy.lib import format as npy_format

out = pathlib.Path(__file__).resolve().parent.parent / "test" / "fixtures" / "npy"
out.mkdir(parents=True, exist_ok=True)
base = np.arange(-3, 9).reshape(3, 4)
arrays = {
    "f4_v1.npy": ((1, 0), (base / 4).astype("<f4")),
    "f8_v2.npy": ((2, 0), (base / 8).astype("<f8")),
    "i8_v3.npy": ((3, 0), (base * 2**33).astype("<i8")),
    "f2.npy": ((1, 0), (base / 2).astype("<f2")),
    "i4_fortran.npy": ((1, 0), np.asfortranarray(base.astype("<i4"))),
    "i2.npy": ((1, 0), (base * 1000).astype("<i2")),
    "i1.npy": ((1, 0), base.astype("i1")),
    "u1.npy": ((1, 0), (base + 3).astype("u1")[0]),
    "b1.npy": ((1, 0), base % 3 == 0),
    "scalar.npy": ((1, 0), np.array(2.5, dtype="<f4")),
    "empty.npy": ((1, 0), np.zeros((0, 4), dtype="<f4")),
}
expected = {}
for name, (version, array) in arrays.items():
    with open(out / name, "wb") as f:
        npy_format.write_array(f, array, version=version)
    expected[name] = {
        "dtype": array.dtype.str,
        "shape": list(array.shape),
        "values": [v.item() for v in np.ascontiguousarray(array).reshape(-1)],
    }
(out / "expected.json").write_text(json.dumps(expected) + "\n")
print(f"numpy {np.__version__}: wrote {len(arrays)} files to {out}")
