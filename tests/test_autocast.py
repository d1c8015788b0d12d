"""Mixed precision only where the device runs it: bf16 from compute capability 8, fp16 (with loss scaling) below."""
import torch

import importlib

train = importlib.import_module("cibtools.train")  # the module (cibtools.train is also the function)


def test_autocast_type_follows_the_compute_capability(monkeypatch):
    assert train.autocast_dtype("cpu") is None
    for capability, dtype in (((7, 5), torch.float16), ((7, 0), torch.float16), ((8, 0), torch.bfloat16),
                              ((8, 9), torch.bfloat16), ((9, 0), torch.bfloat16)):
        monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None, c=capability: c)
        assert train.autocast_dtype("cuda") == dtype, capability
