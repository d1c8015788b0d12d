"""Independent jobs run by one-thread processes (`cibtools.workers`): results come back in order and a job's error
is raised; models trained that way (`zoo.get_models`) land in the cache once, are marked as trained here, and load
from the cache the next time; bad worker counts are refused."""
import operator

import pytest
import torch

from cibtools import workers, zoo


def test_two_workers_train_each_missing_model_once_then_load_them(tmp_path, monkeypatch):
    monkeypatch.setenv("CIB_CACHE_DIR", str(tmp_path))  # the spawned workers read the same cache
    keys = [("baseline", "mnist", 0), ("vib", "mnist", 0), ("baseline", "mnist", 0)]
    first = zoo.get_models(keys, "smoke", device="cpu", workers=2, progress=False)
    assert list(first) == [("baseline", "mnist", 0), ("vib", "mnist", 0)]
    assert all(not r.from_cache and len(r.history) == 1 for r in first.values())
    assert len(list(tmp_path.glob("*.pt"))) == 2 and not list(tmp_path.glob("*.tmp"))
    second = zoo.get_models(keys, "smoke", device="cpu", workers=2, progress=False)
    assert all(r.from_cache for r in second.values())
    for key, r in second.items():
        for a, b in zip(first[key].model.state_dict().values(), r.model.state_dict().values()):
            assert torch.equal(a, b)


def test_worker_count():
    assert workers.count(5, "cpu", 3) == 3
    assert workers.count(1, "cpu") == 1  # one job: no second process
    assert workers.count(0, "cpu") == 1
    for bad in (0, -1, 1.5, True, "two"):
        with pytest.raises(ValueError, match="workers must be"):
            workers.count(2, "cpu", bad)


def test_starmap_returns_results_in_order_and_raises_a_job_error():
    assert workers.starmap(operator.mul, [(2, 3), (4, 5), (6, 7)], 2) == [6, 20, 42]
    assert workers.starmap(torch.get_num_threads, [()] * 2, 2) == [1, 1]  # each process runs on one thread
    with pytest.raises(ZeroDivisionError):
        workers.starmap(operator.truediv, [(1, 1), (1, 0)], 2)
    with pytest.raises(ValueError, match="processes must be"):
        workers.starmap(operator.mul, [(1, 2)], 0)


def test_one_job_per_checkpoint_when_two_keys_name_the_same_config(tmp_path, monkeypatch):
    monkeypatch.setenv("CIB_CACHE_DIR", str(tmp_path))
    default_beta = zoo.config_for("causalib", "mnist", "smoke").beta
    keys = [("causalib", "mnist", 0), ("causalib", "mnist", 0, (("beta", default_beta),))]
    assert zoo.train_missing(keys, "smoke", device="cpu", workers=1) == keys[:1]
    models = zoo.get_models(keys, "smoke", device="cpu", workers=2, progress=False)
    assert len(list(tmp_path.glob("*.pt"))) == 1 and all(r.from_cache for r in models.values())


def test_a_model_the_cache_lacks_is_announced_before_it_trains(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CIB_CACHE_DIR", str(tmp_path))
    zoo.get_model("baseline", "mnist", "smoke", device="cpu", progress=False)
    assert "baseline on mnist (seed 0, 1 epoch(s)) is not in the checkpoint cache yet" in capsys.readouterr().out
    zoo.get_model("baseline", "mnist", "smoke", device="cpu", progress=False)
    assert capsys.readouterr().out == ""
