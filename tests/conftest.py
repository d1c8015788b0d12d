import pytest
import torch

import cibtools as cb


@pytest.fixture(scope="session")
def mnist_small():
    """2000 training and 500 test MNIST images from the shipped files."""
    return cb.load_dataset("mnist", "train", limit=2000), cb.load_dataset("mnist", "test", limit=500)


@pytest.fixture(scope="session")
def trained_baseline(mnist_small):
    """A small MLP trained for 2 epochs at lr 1e-3: accurate enough for attack tests (~90%)."""
    train, _ = mnist_small
    torch.set_num_threads(2)
    return cb.train(cb.TrainConfig("baseline", epochs=2, lr=1e-3, train_limit=2000), device="cpu",
                    data=train, progress=False).model


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    """Every test gets its own checkpoint cache, never the user's."""
    monkeypatch.setenv("CIB_CACHE_DIR", str(tmp_path / "cache"))
