"""Minimal safetensors writer (F32, I32) and reader (F32, I32, F16, BF16) with struct + json + numpy,
no extra packages. The one copy the Python tools share (make_fixtures.py, folder_logits.py).

Layout: u64 little-endian header length N, N bytes of JSON (space-padded so the data starts on an
8-byte boundary) with "__metadata__": {"format": "pt"}, then the tensors back to back, row-major,
little-endian, in the order given.
"""
import json
import struct

import numpy as np

_DT = {np.dtype("<f4"): "F32", np.dtype("<i4"): "I32"}
_NP = {"F32": np.dtype("<f4"), "I32": np.dtype("<i4"), "F16": np.dtype("<f2")}


def write(path, tensors):
    """tensors: ordered mapping name -> numpy array (float32 or int32)."""
    header = {"__metadata__": {"format": "pt"}}
    blobs = []
    off = 0
    for name, a in tensors.items():
        a = np.ascontiguousarray(a)
        dt = a.dtype.newbyteorder("<")
        if dt not in _DT:
            raise ValueError("%s: unsupported dtype %s" % (name, a.dtype))
        b = a.astype(dt, copy=False).tobytes()
        header[name] = {"dtype": _DT[dt], "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - (8 + len(h)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def _decode(raw, dt):
    if dt == "BF16":   # the upper half of an f32
        return (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
    return np.frombuffer(raw, dtype=_NP[dt])


def read(path, dtypes=("F32", "I32", "F16", "BF16")):
    """name -> numpy array (F32, I32, F16 as stored; BF16 widened to float32), in file order.
    ValueError names the tensor when its dtype is not one of `dtypes`."""
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dt = info["dtype"]
        if dt not in dtypes or (dt not in _NP and dt != "BF16"):
            raise ValueError("%s: tensor %s: dtype %s not supported here" % (path, name, dt))
        a, b = info["data_offsets"]
        out[name] = _decode(data[base + a:base + b], dt).reshape(info["shape"])
    return out
