import pytest
import torch

import cibtools as cb
from cibtools.cache import CheckpointError, checkpoint_path
from cibtools.config import TrainConfig


def _cfg(**kw):
    base = dict(method="causalib", epochs=1, train_limit=300, batch_size=100)
    base.update(kw)
    return TrainConfig(**base)


@pytest.mark.parametrize("method", ["baseline", "mixup", "rs", "ciiv", "vib", "causalib", "at_fgsm", "at_pgd"])
def test_every_method_trains_and_logs_history(method, mnist_small):
    train, _ = mnist_small
    extra = {"at_steps": 2} if method == "at_pgd" else {}
    result = cb.train(_cfg(method=method, **extra), device="cpu", data=train.subset(300), progress=False)
    row = result.history[0]
    assert row["epoch"] == 1 and row["loss"] > 0 and 0 <= row["acc"] <= 1
    if method == "causalib":
        assert {"ce", "kl", "causal"} <= set(row)
    assert result.model(train.images[:4]).shape == (4, 10)


def test_same_seed_same_numbers(mnist_small):
    train, test = mnist_small
    a = cb.train(_cfg(seed=3), device="cpu", data=train.subset(300), progress=False)
    b = cb.train(_cfg(seed=3), device="cpu", data=train.subset(300), progress=False)
    c = cb.train(_cfg(seed=4), device="cpu", data=train.subset(300), progress=False)
    assert a.history[0]["loss"] == b.history[0]["loss"]
    assert torch.equal(a.model(test.images[:10]), b.model(test.images[:10]))
    assert not torch.equal(a.model(test.images[:10]), c.model(test.images[:10]))


def test_config_key_ignores_unused_fields_and_tracks_used_ones():
    assert TrainConfig("baseline", beta=0.3).key() == TrainConfig("baseline", beta=0.9).key()
    assert TrainConfig("causalib", beta=0.3).key() != TrainConfig("causalib", beta=0.9).key()
    assert TrainConfig("vib").resolved().alpha == 0.01 and TrainConfig("causalib").resolved().alpha == 0.05


def test_unknown_method_and_bad_values():
    with pytest.raises(ValueError, match="Valid methods"):
        TrainConfig("dropout").resolved()
    with pytest.raises(ValueError, match="beta must be a finite number >= 0"):
        TrainConfig("causalib", beta=-1)


def test_cache_reuses_and_never_loads_stale(tmp_path):
    cfg = _cfg()
    first = cb.train_or_load(cfg, device="cpu", cache=tmp_path, progress=False)
    assert not first.from_cache and checkpoint_path(cfg, tmp_path).exists()
    again = cb.train_or_load(cfg, device="cpu", cache=tmp_path, progress=False)
    assert again.from_cache and again.history == first.history
    x = torch.rand(2, 1, 28, 28)
    assert torch.equal(first.model(x), again.model(x))
    other = cb.train_or_load(_cfg(beta=0.5), device="cpu", cache=tmp_path, progress=False)
    assert not other.from_cache


def test_corrupt_checkpoint_is_reported_not_overwritten(tmp_path):
    cfg = _cfg(method="baseline")
    path = checkpoint_path(cfg, tmp_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="corrupt") as err:
        cb.train_or_load(cfg, device="cpu", cache=tmp_path, progress=False)
    assert str(path) in str(err.value) and path.read_bytes() == b"not a checkpoint"
    with pytest.warns(UserWarning, match="moved"):
        cb.train_or_load(cfg, device="cpu", cache=tmp_path, retrain=True, progress=False)
    assert list(tmp_path.glob("*.old-*"))[0].read_bytes() == b"not a checkpoint"


def test_ciiv_learns_mnist_with_its_default_penalty(mnist_small):
    """Regression: with a plain L1 IV penalty CiiV collapsed to chance on MNIST (features pushed to 0).
    Its code's smooth-L1 penalty (the default) learns; a plain L1 penalty on the same run does not."""
    _, test = mnist_small
    data = cb.load_dataset("mnist", "train", limit=3000)
    torch.set_num_threads(2)

    def accuracy(norm: str) -> float:
        cfg = TrainConfig("ciiv", epochs=2, train_limit=3000, ciiv_norm=norm)
        model = cb.train(cfg, device="cpu", data=data, progress=False).model
        with torch.no_grad():
            return (model(test.images).argmax(-1) == test.labels).float().mean().item()

    assert TrainConfig("ciiv").resolved().ciiv_norm == "smooth_l1"
    assert accuracy("smooth_l1") > 0.25
    assert accuracy("l1") < 0.15


def test_smooth_l1_penalty_matches_huber():
    v = torch.tensor([[0.5, -2.0, 0.0]])
    assert torch.allclose(cb.losses._vector_norm(v, "smooth_l1"), torch.tensor([0.125 + 1.5]))
