#!/usr/bin/env python3
"""Cross-library fixtures for autoprog's safetensors reader and writer.

Files written next to this script (commit them; the Swift tests do not need Python):

  reference.safetensors  written by the reference `safetensors` library: F32, F16, BF16,
                         F64, I64, U8 and BOOL tensors (including a 0-d and an empty one)
                         with metadata.
  reference.json         the float32 value autoprog must produce for every element, as
                         uint32 bit patterns (exact, and NaN-safe), computed by numpy;
                         plus the metadata.
  fp8.safetensors        every FP8 code (E4M3FN and E5M2) next to torch's own float32
                         conversion of it. Only regenerated when torch is importable.
  swift_written.safetensors  written by autoprog (SafeTensorsTests regenerates it when
                         AUTOPROG_REGENERATE_FIXTURES=1); `verify` checks it here with the
                         reference library.

Usage (in a venv outside the repository):
  python3 -m venv /tmp/stenv && /tmp/stenv/bin/pip install safetensors numpy
  /tmp/stenv/bin/python make_fixtures.py             # regenerate fixtures
  /tmp/stenv/bin/python make_fixtures.py verify swift_written.safetensors
"""
import json
import os
import sys

import numpy as np
from safetensors import TensorSpec, serialize_file
from safetensors.numpy import load_file

HERE = os.path.dirname(os.path.abspath(__file__))
METADATA = {"format": "pt", "note": "fixture \u00fc \"quoted\""}


def f32_bits(values):
    return [int(b) for b in np.asarray(values, dtype=np.float32).reshape(-1).view(np.uint32)]


def reference_tensors():
    f16_bits = np.array(
        [0x0000, 0x8000, 0x0001, 0x03FF, 0x0400, 0x3C00, 0xC000, 0x3555,
         0x7BFF, 0x7C00, 0xFC00, 0x7E00, 0x2E66, 0x8001],
        dtype=np.uint16,
    )
    bf16_bits = np.array([0x3F80, 0xC049, 0x7F80, 0x0001, 0x8000, 0x7FC1], dtype=np.uint16)
    plain = {
        "layer.weight": np.array([[1.5, -2.25, 3.0e-3], [0.0, -0.0, 1e30]], dtype=np.float32),
        "layer.bias": np.array([np.pi, -np.e, 1e-40], dtype=np.float32),  # last is subnormal
        "scalar": np.array(7.0, dtype=np.float32),
        "empty": np.zeros((0, 3), dtype=np.float32),
        "half": f16_bits.view(np.float16).reshape(2, 7),
        "double": np.array([1.0 / 3.0, -1e300], dtype=np.float64),
        "int64": np.array([-2, 0, 2**40 + 1], dtype=np.int64),
        "uint8": np.array([0, 7, 255], dtype=np.uint8),
        "mask": np.array([True, False, True], dtype=np.bool_),
    }
    with np.errstate(over="ignore"):  # -1e300 as float32 is -inf, as in Swift's Float(Double)
        expected = {name: {"shape": list(a.shape), "bits": f32_bits(a.astype(np.float32))}
                    for name, a in plain.items()}
    # numpy has no bfloat16: write its bit patterns with an explicit dtype tag; a bfloat16
    # is by definition the top half of a float32.
    bf16_f32 = (bf16_bits.astype(np.uint32) << 16).view(np.float32)
    expected["brain"] = {"shape": [3, 2], "bits": f32_bits(bf16_f32)}
    return plain, bf16_bits, expected


def make_reference():
    plain, bf16_bits, expected = reference_tensors()
    path = os.path.join(HERE, "reference.safetensors")
    specs = {
        name: TensorSpec(dtype=a.dtype.name, shape=a.shape, data_ptr=a.ctypes.data, data_len=a.nbytes)
        for name, a in plain.items()
    }
    specs["brain"] = TensorSpec(dtype="bfloat16", shape=(3, 2), data_ptr=bf16_bits.ctypes.data,
                                data_len=bf16_bits.nbytes)
    serialize_file(specs, path, metadata=METADATA)
    with open(os.path.join(HERE, "reference.json"), "w") as f:
        json.dump({"metadata": METADATA, "tensors": expected}, f, sort_keys=True)
        f.write("\n")


def make_fp8():
    try:
        import torch
        from safetensors.torch import save_file as torch_save
    except ImportError:
        print("torch not importable: keeping the existing fp8.safetensors")
        return
    codes = torch.arange(256, dtype=torch.int32).to(torch.uint8)
    e4m3 = codes.view(torch.float8_e4m3fn)
    e5m2 = codes.clone().view(torch.float8_e5m2)
    torch_save({"e4m3": e4m3, "e4m3_as_f32": e4m3.float(), "e5m2": e5m2, "e5m2_as_f32": e5m2.float()},
               os.path.join(HERE, "fp8.safetensors"))


def verify(path):
    """Checks the file autoprog's writer produced in SafeTensorsTests.swiftWrittenGolden."""
    from safetensors import safe_open

    with safe_open(path, framework="np") as f:
        meta = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    assert meta == {"producer": "autoprog", "step": "12"}, meta
    assert tensors["a.weight"].dtype == np.float32
    np.testing.assert_array_equal(tensors["a.weight"], np.arange(6, dtype=np.float32).reshape(2, 3) / 4 - 0.5)
    # Bit patterns, so that -0.0 and the subnormal are checked exactly.
    np.testing.assert_array_equal(tensors["a.bias"].view(np.uint32),
                                  np.array([1e-40, -0.0, 3.5], dtype=np.float32).view(np.uint32))
    assert tensors["scalar"].shape == () and tensors["scalar"] == np.float32(-7.25)
    assert tensors["empty"].shape == (2, 0)
    # The numpy loader also agrees.
    loaded = load_file(path)
    assert set(loaded) == {"a.weight", "a.bias", "scalar", "empty"}
    print(f"OK: {path} reads back correctly with safetensors", __import__("safetensors").__version__)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "verify":
        verify(sys.argv[2])
    else:
        make_reference()
        make_fp8()
        for name in sorted(os.listdir(HERE)):
            if not name.endswith(".py"):
                print(name, os.path.getsize(os.path.join(HERE, name)), "bytes")
