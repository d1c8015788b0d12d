"""Nothing silently wrong: damaged files, bad inputs and hand-run notebooks give clear errors or are
harmless (issue 12). Each test takes seconds."""
import gzip
import math
import os
import shutil
import socket
import time

import nbformat
import pytest
import torch

import cibtools as cb
import cibtools.data as D
from cibtools import attacks, paths, profiles
from cibtools.cache import CheckpointError, checkpoint_path, load_checkpoint
from cibtools.evaluate import AttackSpec
from cibtools.runner import NotebookFailed, list_notebooks, main as runner_main


def _tiny(**kw):
    return cb.TrainConfig("baseline", epochs=1, train_limit=200, **kw)


# 1. checkpoint integrity ------------------------------------------------------------------------
def test_flipped_bytes_in_checkpoint_weights_raise(tmp_path):
    cfg = _tiny()
    cb.train_or_load(cfg, device="cpu", cache=tmp_path, progress=False)
    path = checkpoint_path(cfg, tmp_path)
    payload = torch.load(path, weights_only=True)
    weight = payload["state_dict"]["encoder.1.weight"]
    weight.view(-1)[1234] += 0.5  # a damaged tensor that still unpickles
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="damaged") as err:
        load_checkpoint(path, cfg)
    assert str(path) in str(err.value) and "retrain=True" in str(err.value)


def test_raw_byte_flip_in_checkpoint_file_raises(tmp_path):
    cfg = _tiny()
    cb.train_or_load(cfg, device="cpu", cache=tmp_path, progress=False)
    path = checkpoint_path(cfg, tmp_path)
    raw = bytearray(path.read_bytes())
    for i in range(len(raw) // 2, len(raw) // 2 + 64):  # inside the tensor data
        raw[i] ^= 0x5A
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError):
        load_checkpoint(path, cfg)


# 2. committed outputs: only the runner publishes ---------------------------------------------------
def test_hand_run_outputs_stay_under_runs_and_publish_is_atomic(tmp_path, monkeypatch):
    monkeypatch.setenv("CIB_RUNS_DIR", str(tmp_path / "runs"))
    for var in ("CIB_FIGURES_DIR", "CIB_RESULTS_DIR"):
        monkeypatch.delenv(var, raising=False)
    committed = {p: p.stat().st_mtime for kind in ("figures", "results") for p in paths.published_dir(kind).glob("*")}
    from cibtools.results import save_table
    import pandas as pd

    start = time.time() - 1
    out = save_table(pd.DataFrame({"a": [1]}), "05_demo", "quick", {})  # what a cell run by hand does
    assert out.parent == tmp_path / "runs" / "quick" / "results"
    assert {p: p.stat().st_mtime for p in committed} == committed  # committed folders untouched
    (tmp_path / "runs" / "quick" / "results" / "06_other.csv").write_text("x\n")
    copied = paths.publish("05_", "quick", since=start, target=tmp_path / "site")
    assert sorted(p.name for p in copied) == ["05_demo.csv", "05_demo.json"]
    assert not list((tmp_path / "site" / "results").glob(".*tmp"))


@pytest.mark.parametrize("bad", ["", "fast", None])
def test_empty_or_unknown_profile_names_the_valid_ones(bad):
    if bad is None:
        assert profiles.settings(None).name in profiles.PROFILES  # None: the environment's default
        return
    with pytest.raises(ValueError, match="smoke, quick, paper"):
        profiles.settings(bad)
    with pytest.raises(ValueError, match="smoke, quick, paper"):
        paths.output_dir("figures", bad)


# 3. attacks refuse impossible settings --------------------------------------------------------------
@pytest.fixture(scope="module")
def model_and_batch():
    model = cb.train(_tiny(), device="cpu", progress=False).model
    data = cb.load_dataset("mnist", "test", limit=8)
    return model, data.images, data.labels


@pytest.mark.parametrize("kwargs,match", [
    (dict(restarts=0), "restarts"), (dict(eot=0), "eot"), (dict(step_size=-0.01), "step_size"),
    (dict(steps=0), "steps"), (dict(loss="hinge"), "loss"),
])
def test_pgd_rejects_impossible_settings(model_and_batch, kwargs, match):
    model, x, y = model_and_batch
    with pytest.raises(ValueError, match=match):
        attacks.pgd(model, x, y, 0.1, **kwargs)
    spec_kwargs = {k: v for k, v in kwargs.items()}
    with pytest.raises(ValueError, match=match):
        AttackSpec("pgd", 0.1, **{"steps": 10, **spec_kwargs})


def test_attacks_reject_bad_images_labels_and_eps(model_and_batch):
    model, x, y = model_and_batch
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        attacks.fgsm(model, x * 255, y, 0.1)
    with pytest.raises(ValueError, match="floating-point"):
        attacks.pgd(model, (x * 255).to(torch.uint8), y, 0.1)
    with pytest.raises(ValueError, match="Labels must be in"):
        attacks.fgsm(model, x, y + 10, 0.1)
    with pytest.raises(ValueError, match="Labels"):
        attacks.fgsm(model, x, y.float(), 0.1)
    with pytest.raises(ValueError, match="eps must be a number"):
        attacks.fgsm(model, x, y, "0.1")
    with pytest.raises(ValueError, match="eps must be a number"):
        AttackSpec("fgsm", "50/255")


# 4. training configs and data calls are validated when made ----------------------------------------
@pytest.mark.parametrize("kwargs,match", [
    (dict(method="vib", k=0), "k must be"), (dict(method="vib", k=-3), "k must be"),
    (dict(train_limit=0), "train_limit"), (dict(method="vib", alpha=math.nan), "alpha"),
    (dict(method="causalib", causal_norm="l3"), "causal_norm"), (dict(lr=0.0), "lr"),
    (dict(epochs=2.5), "epochs"), (dict(method="vib", bottleneck="other"), "bottleneck"),
])
def test_bad_configs_fail_when_made(kwargs, match):
    kwargs = {"method": "baseline", **kwargs}
    with pytest.raises(ValueError, match=match):
        cb.TrainConfig(**kwargs)


@pytest.mark.parametrize("limit", [0, -5, 2.5])
def test_bad_limits_and_names_are_refused(limit):
    with pytest.raises(ValueError, match="limit"):
        cb.load_dataset("mnist", "test", limit=limit)


def test_dataset_name_none_is_a_value_error():
    with pytest.raises(ValueError, match="mnist, fashion_mnist, cifar10"):
        cb.load_dataset(None)


def test_nan_loss_stops_training_and_caches_nothing(tmp_path):
    cfg = cb.TrainConfig("baseline", epochs=2, lr=1e30, train_limit=500)  # diverges within an epoch
    with pytest.raises(FloatingPointError, match=r"epoch 1, step \d+") as err:
        cb.train_or_load(cfg, device="cpu", cache=tmp_path, progress=False)
    assert "nothing was cached" in str(err.value)
    assert not checkpoint_path(cfg, tmp_path).exists()


# 5. data never touches the network -------------------------------------------------------------------
@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def _copy_data(tmp_path):
    root = tmp_path / "data"
    for folder in ("MNIST", "FashionMNIST"):
        shutil.copytree(paths.REPO_ROOT / "data" / folder, root / folder)
    shutil.copy(paths.REPO_ROOT / "data" / "SHA256SUMS.uncompressed", root)
    return root


def test_shipped_datasets_load_with_the_network_blocked(no_network):
    for name in ("mnist", "fashion_mnist"):
        for split in ("train", "test"):
            assert len(cb.load_dataset(name, split, limit=10)) == 10


def test_missing_file_names_it_without_a_network_call(tmp_path, no_network):
    root = _copy_data(tmp_path)
    (root / "MNIST/raw/t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(D.DataError, match="t10k-labels-idx1-ubyte.gz is missing") as err:
        cb.load_dataset("mnist", "test", root=root)
    assert "git checkout --" in str(err.value)


@pytest.mark.parametrize("edit", ["drop", "extra", "comment", "short"])
def test_malformed_checksum_list_is_reported(tmp_path, edit):
    root = _copy_data(tmp_path)
    listing = root / "SHA256SUMS.uncompressed"
    lines = listing.read_text().splitlines()
    if edit == "drop":
        lines = lines[1:]
    elif edit == "extra":
        lines.append("0" * 64 + "  MNIST/raw/other-file")
    elif edit == "comment":
        lines.insert(0, "# checksums")
    else:
        lines[0] = lines[0][10:]
    listing.write_text("\n".join(lines) + "\n")
    with pytest.raises(D.DataError, match="SHA256SUMS.uncompressed"):
        cb.load_dataset("fashion_mnist", "test", root=root)


def test_digest_mismatch_says_file_or_list_is_wrong(tmp_path):
    root = _copy_data(tmp_path)
    target = root / "FashionMNIST/raw/t10k-labels-idx1-ubyte.gz"
    raw = bytearray(gzip.decompress(target.read_bytes()))
    raw[50] ^= 1
    target.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(D.DataError, match="The file or the checksum list is wrong"):
        cb.load_dataset("fashion_mnist", "test", root=root)


# 6. the runner ----------------------------------------------------------------------------------
def test_only_accepts_2_and_02_and_names_what_is_missing():
    assert [b.name[:2] for b in list_notebooks(only=["2"])] == ["02"]
    assert [b.name[:2] for b in list_notebooks(only=["02", "5"])] == ["02", "05"]
    with pytest.raises(NotebookFailed, match="No notebook numbered 77"):
        list_notebooks(only=["2", "77"])


def _notebook(folder, name, cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nb.cells[0].metadata["tags"] = ["parameters"]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, folder / name)


def test_runner_writes_a_log_per_notebook_and_one_line_on_failure(tmp_path, capsys):
    from cibtools.runner import run_notebooks

    books = tmp_path / "nbs"
    books.mkdir()
    _notebook(books, "01-ok.ipynb", ['profile = "quick"', "print('hello from the cell')"])
    _notebook(books, "02-bad.ipynb", ['profile = "quick"', "raise ValueError('boom.')"])
    with pytest.raises(NotebookFailed) as err:
        run_notebooks("smoke", folder=books, out_dir=tmp_path / "out", log=lambda *_: None)
    log_ok = (tmp_path / "out" / "logs" / "01-ok.log").read_text()
    assert "Executing Cell 2" in log_ok and "hello from the cell" in log_ok and "DONE in" in log_ok
    assert "FAILED at" in (tmp_path / "out" / "logs" / "02-bad.log").read_text()
    assert ".." not in str(err.value)


def test_interrupted_run_exits_with_one_line(tmp_path, monkeypatch, capsys):
    import cibtools.runner as R

    def interrupted(book, target, profile, kernel):
        raise R.RunInterrupted(f"Interrupted while running {book.name}; its partial copy is x.partial.ipynb.")

    monkeypatch.setattr(R, "_execute", interrupted)
    assert runner_main(["--profile", "smoke", "--only", "2", "--out", str(tmp_path)]) == 130
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "02-causal-iv.ipynb" in err and "Traceback" not in err
