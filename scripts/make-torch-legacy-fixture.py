#!/usr/bin/env python3
"""Writes Tests/AerieModelsTests/Fixtures/tiny-legacy.pth: a tiny PyTorch checkpoint in the legacy (pre-zip)
serialization, for the TorchLegacyFile tests.

torch is not in the repository's venv (and is a large install), so this writes the format with Python's own
pickle module, byte for byte the layout `torch.save(state_dict, f, _use_new_zipfile_serialization=False)` writes
(torch/serialization.py, `_legacy_save`): five pickles at protocol 2 (the magic number, the protocol version 1001,
the system info, the state dict whose tensors are `torch._utils._rebuild_tensor_v2(storage, offset, size, stride,
requires_grad, backward_hooks)` calls with the storages as persistent ids, and the sorted storage keys), then each
storage's raw little-endian elements after an 8-byte element count. Stand-ins named `torch.FloatStorage`,
`torch.LongStorage` and `torch._utils._rebuild_tensor_v2` make pickle write the same GLOBAL opcodes.

The state dict holds a contiguous tensor, a transposed (non-contiguous) view of the same storage, a view with
4-D strides like the real EfficientNet file's 1×1 convolution weights, a view at an offset, and an int64 counter.

    python3 scripts/make-torch-legacy-fixture.py
"""

import collections
import io
import pickle
import struct
import sys
import types
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "Tests/AerieModelsTests/Fixtures/tiny-legacy.pth"

torch = types.ModuleType("torch")
torch_utils = types.ModuleType("torch._utils")
torch._utils = torch_utils
sys.modules["torch"] = torch
sys.modules["torch._utils"] = torch_utils


def _rebuild_tensor_v2(*args):
    raise NotImplementedError


_rebuild_tensor_v2.__module__ = "torch._utils"
torch_utils._rebuild_tensor_v2 = _rebuild_tensor_v2


class Storage:
    def __init__(self, key, fmt, values):
        self.key, self.fmt, self.values = key, fmt, values


class FloatStorage:
    pass


class LongStorage:
    pass


for cls in (FloatStorage, LongStorage):
    cls.__module__ = "torch"
    setattr(torch, cls.__name__, cls)


class Tensor:
    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, tuple(size), tuple(stride), False, collections.OrderedDict())

    def __reduce__(self):
        return (_rebuild_tensor_v2, self.args)


class LegacyPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            storage_type = FloatStorage if obj.fmt == "<f" else LongStorage
            return ("storage", storage_type, obj.key, "cpu", len(obj.values), None)
        return None


weights = Storage("94011111111111", "<f", [float(v) for v in range(12)])
conv = Storage("94022222222222", "<f", [10.0, 11.0, 12.0, 13.0, 14.0, 15.0])
counter = Storage("94033333333333", "<q", [7])

state = collections.OrderedDict()
state["linear.weight"] = Tensor(weights, 0, (3, 4), (4, 1))
state["linear.weight_t"] = Tensor(weights, 0, (4, 3), (1, 4))
state["conv.weight"] = Tensor(conv, 0, (2, 3, 1, 1), (1, 2, 6, 6))
state["conv.bias"] = Tensor(conv, 2, (3,), (1,))
state["bn.num_batches_tracked"] = Tensor(counter, 0, (), ())
state._metadata = collections.OrderedDict([("", {"version": 1}), ("bn", {"version": 2})])

out = io.BytesIO()
pickle.dump(0x1950A86A20F9469CFC6C, out, protocol=2)
pickle.dump(1001, out, protocol=2)
pickle.dump({"protocol_version": 1001, "little_endian": True, "type_sizes": {"short": 2, "int": 4, "long": 4}}, out, protocol=2)
LegacyPickler(out, protocol=2).dump(state)
storages = {s.key: s for s in (weights, conv, counter)}
keys = sorted(storages)
pickle.dump(keys, out, protocol=2)
for key in keys:
    storage = storages[key]
    out.write(struct.pack("<q", len(storage.values)))
    out.write(b"".join(struct.pack(storage.fmt, v) for v in storage.values))
OUT.write_bytes(out.getvalue())
print(f"wrote {OUT} ({len(out.getvalue())} bytes)")
