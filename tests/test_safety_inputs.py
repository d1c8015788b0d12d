"""Nothing silently wrong, part 2 (issue 21): no user string reaches a shell, no file is half rewritten, no
model is overwritten, no number is reported under a label that is not what was computed, and each bad
input is refused with a message naming the argument or file and what is valid. Each test takes seconds."""
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
import torch

import cibtools as cb
import cibtools.data as D
from cibtools import attacks, paths, profiles, repository, runner, site
from cibtools.cache import CheckpointError, checkpoint_path, load_checkpoint
from cibtools.config import PAPER_EPS, TrainConfig
from cibtools.data import CLASS_NAMES
from cibtools.evaluate import AttackSpec, predict, robust_accuracy
from cibtools.train import model_for


# 1. no injected command, no half-rewritten files ------------------------------------------------------------
def _make_set_repository(repo: str | None, workdir: Path) -> subprocess.CompletedProcess:
    venv = Path(sys.executable).parent.parent
    args = ["make", "-s", "-C", str(paths.REPO_ROOT), f"VENV={venv}", "-o", f"{venv}/.installed", "set-repository"]
    if repo is not None:
        args.append(f"REPO={repo}")
    return subprocess.run(args, cwd=workdir, capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_set_repository_executes_nothing_in_repo_and_refuses_without_it(tmp_path):
    watched = [repository.PYPROJECT, repository.README, *sorted(repository.NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))]
    before = {p: p.read_bytes() for p in watched}
    # a quote, a backtick, $(...), make's $(shell ...) and a single quote, each trying to create a file
    repo = (f'x"; touch {tmp_path}/quote; echo " `touch {tmp_path}/backtick` $(touch {tmp_path}/dollar) '
            f"$(shell touch {tmp_path}/make) '; touch {tmp_path}/single; '")
    done = _make_set_repository(repo, tmp_path)
    assert done.returncode != 0 and "Repository must look like owner/name" in done.stderr, done.stderr
    assert repr(repo) in done.stderr  # it reached Python as one argument, exactly as typed
    assert not list(tmp_path.iterdir())  # nothing ran: no file was created
    done = _make_set_repository(None, tmp_path)
    assert done.returncode != 0 and "REPO is not set" in done.stderr and "Nothing was changed" in done.stderr
    assert {p: p.read_bytes() for p in watched} == before


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
@pytest.mark.parametrize("target", ["reproduce", "site"])
def test_make_profile_reaches_python_as_typed_and_executes_nothing(tmp_path, target):
    venv = Path(sys.executable).parent.parent
    profile = f'x"; touch {tmp_path}/quote; echo " `touch {tmp_path}/backtick` $(touch {tmp_path}/dollar) \'; touch {tmp_path}/single; \''
    done = subprocess.run(["make", "-s", "-C", str(paths.REPO_ROOT), f"VENV={venv}", "-o", f"{venv}/.installed", target,
                           f"PROFILE={profile}"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    refused = "invalid choice" in done.stderr or "Unknown profile" in done.stderr
    assert done.returncode != 0 and refused and f"{tmp_path}/backtick` $(touch" in done.stderr, done.stderr
    assert not list(tmp_path.iterdir())  # nothing ran: no file was created


@pytest.fixture
def fake_repo(tmp_path, monkeypatch):
    """pyproject.toml, README.md and two notebooks, copied: `set` and `check` work on these."""
    (tmp_path / "notebooks").mkdir()
    shutil.copy(repository.PYPROJECT, tmp_path / "pyproject.toml")
    shutil.copy(repository.README, tmp_path / "README.md")
    for book in sorted(repository.NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))[:2]:
        shutil.copy(book, tmp_path / "notebooks" / book.name)
    monkeypatch.setattr(repository, "PYPROJECT", tmp_path / "pyproject.toml")
    monkeypatch.setattr(repository, "README", tmp_path / "README.md")
    monkeypatch.setattr(repository, "NOTEBOOKS", tmp_path / "notebooks")
    return tmp_path


def _snapshot(root: Path) -> dict:
    return {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("bad", ["owner/name\n", "owner/name\nextra", " owner/name", "owner/na me", "a/b/c", "/name"])
def test_an_address_with_a_newline_or_anything_else_is_refused_and_nothing_written(fake_repo, bad):
    before = _snapshot(fake_repo)
    with pytest.raises(ValueError, match="owner/name"):
        repository.set_repository(bad)
    assert _snapshot(fake_repo) == before


@pytest.mark.parametrize("damage,message", [
    ("readme markers", "lacks the <!-- colab:start --> ... <!-- colab:end --> markers"),
    ("hand-edited setting", "exactly one line `repository = \"owner/name\"`"),
    ("notebook not JSON", r"01-[a-z-]+.ipynb is not a valid notebook"),
    ("no install cell", "has 1 badge line\\(s\\) and 0 install cell"),
])
def test_set_checks_every_file_before_writing_any(fake_repo, damage, message):
    if damage == "readme markers":
        readme = fake_repo / "README.md"
        readme.write_text(readme.read_text().replace(repository.README_END, ""))
    elif damage == "hand-edited setting":
        toml = fake_repo / "pyproject.toml"
        toml.write_text(toml.read_text().replace('repository = "', 'repository  = "'))
    else:
        book = sorted((fake_repo / "notebooks").glob("01-*.ipynb"))[0]
        if damage == "notebook not JSON":
            book.write_text(book.read_text()[:-20])
        else:
            nb = nbformat.read(book, as_version=4)
            nb.cells = [c for c in nb.cells if not c.source.startswith(repository.INSTALL_MARK)]
            nbformat.write(nb, book)
    before = _snapshot(fake_repo)
    with pytest.raises(ValueError, match=message):
        repository.set_repository("owner/name")
    assert _snapshot(fake_repo) == before  # validated first: not one file was written
    if damage == "notebook not JSON":
        assert any("is not a valid notebook" in p for p in repository.problems(""))  # `check` names it too


def test_set_writes_only_what_changes_and_round_trips(fake_repo):
    repository.set_repository("owner/name")
    assert repository.configured() == "owner/name" and repository.problems() == []
    before = _snapshot(fake_repo)
    assert repository.set_repository("owner/name") == []  # nothing changes: pyproject.toml is not touched
    assert _snapshot(fake_repo) == before
    repository.set_repository("")
    assert repository.configured() == "" and repository.problems() == []
    assert not list(fake_repo.rglob(".*.tmp"))


def test_site_escapes_notebook_names_and_names_a_damaged_notebook(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# A <b>bold</b> title")]
    name = '01-<img src=x onerror="alert(1)">.ipynb'
    nbformat.write(nb, runs / name)
    index = site.build("smoke", runs, tmp_path / "site").read_text()
    assert "<img" not in index and "<b>" not in index and "&lt;b&gt;bold&lt;/b&gt;" in index
    assert 'href="01-%3Cimg%20src%3Dx%20onerror%3D%22alert%281%29%22%3E.html"' in index
    (runs / "02-broken.ipynb").write_text("{not json")
    with pytest.raises(ValueError, match=r"02-broken.ipynb is not a valid executed notebook"):
        site.build("smoke", runs, tmp_path / "site")


def test_site_links_between_notebooks_land_on_their_pages(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# T\n\nSee [EOT](03-adversarial-examples.ipynb#glossary-eot) and "
                                              "[03](03-adversarial-examples.ipynb).")]
    nbformat.write(nb, runs / "05-x.ipynb")
    site.build("smoke", runs, tmp_path / "site")
    page = (tmp_path / "site" / "05-x.html").read_text()
    assert 'href="03-adversarial-examples.html#glossary-eot"' in page and 'href="03-adversarial-examples.html"' in page
    assert not re.search(r'href="[^"]*\.ipynb', page)


# 2. no lost models ----------------------------------------------------------------------------------------
def test_two_retrains_in_the_same_second_keep_both_backups(tmp_path, monkeypatch):
    cfg = cb.TrainConfig("baseline", epochs=1, train_limit=100)
    monkeypatch.setattr(time, "strftime", lambda fmt, *a: "20260101-000000")  # the same second, three times
    weights = []
    for _ in range(3):
        with pytest.warns(UserWarning) if weights else _nothing():
            result = cb.train_or_load(cfg, device="cpu", cache=tmp_path, progress=False, retrain=True)
        weights.append(result.model.state_dict()["encoder.1.weight"].clone())
    path = checkpoint_path(cfg, tmp_path)
    backups = sorted(path.parent.glob(path.name + ".old-*"))
    assert [b.name[len(path.name):] for b in backups] == [".old-20260101-000000", ".old-20260101-000000-2"]
    kept = [torch.load(b, weights_only=True)["state_dict"]["encoder.1.weight"] for b in backups]
    assert torch.equal(kept[0], weights[0]) and torch.equal(kept[1], weights[1])  # both earlier models are kept


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize("key", ["config", "digest", "state_dict"])
def test_a_checkpoint_lacking_a_part_is_refused_naming_it(tmp_path, key):
    cfg = cb.TrainConfig("baseline", epochs=1, train_limit=100)
    cb.train_or_load(cfg, device="cpu", cache=tmp_path, progress=False)
    path = checkpoint_path(cfg, tmp_path)
    payload = torch.load(path, weights_only=True)
    del payload[key]
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match=f"{path.name} lacks its {key}.*Delete"):
        load_checkpoint(path, cfg)


# 3. no number under a wrong label -------------------------------------------------------------------------
@pytest.mark.parametrize("kind,kwargs,match", [
    ("fgsm", dict(eps=0.5, norm="l2"), "norm='l2'.*L-inf sign step"),
    ("autoattack", dict(eps=0.1, eot=4), "eot=4.*version='rand'"),
    ("cw", dict(eps=0.1, steps=5, loss="ce_on_softmax"), "loss='ce_on_softmax'"),
    ("fgsm", dict(eps=0.1, steps=3), "steps=3"),
    ("fgsm", dict(eps=0.1, restarts=2), "restarts=2"),
    ("authors_pgd", dict(eps=0.1, steps=40, eot=2), "eot=2.*one random pass"),
    ("authors_pgd", dict(eps=0.1, steps=40, random_start=False), "random_start=False"),
    ("pgd", dict(eps=0.1, steps=5, version="rand"), "version='rand'"),
    ("clean", dict(eps=0.3), "leave eps at 0"),
    ("autoattack", dict(eps=0.1, loss="cw"), "loss='cw'"),
])
def test_options_an_attack_would_ignore_are_refused(kind, kwargs, match):
    with pytest.raises(ValueError, match=match):
        AttackSpec(kind, **kwargs)


def test_labels_name_what_was_computed():
    assert AttackSpec("pgd", 0.1, steps=5, loss="cw").label == "PGD-5 (CW loss)"
    assert AttackSpec("cw", 0.1, steps=5).label == "CW-5" and AttackSpec("pgd", 0.1, steps=5, norm="l2").label == "PGD-5-L2"


@pytest.fixture(scope="module")
def untrained():
    torch.manual_seed(0)
    model = model_for(TrainConfig("baseline").resolved()).eval()
    data = cb.load_dataset("mnist", "test", limit=8)
    return model, data


@pytest.mark.parametrize("change,match", [
    ("nan pixel", "1 pixel\\(s\\) are NaN or infinite"),
    ("float64 images", "Images are torch.float64 but the model's weights are torch.float32"),
    ("int32 labels", "int64 \\(torch.long\\).*labels.long\\(\\)"),
])
def test_bad_images_and_labels_are_refused_by_every_attack_and_by_robust_accuracy(untrained, change, match):
    model, data = untrained
    x, y = data.images.clone(), data.labels
    if change == "nan pixel":
        x[0, 0, 3, 3] = float("nan")
    elif change == "float64 images":
        x = x.double()
    else:
        y = y.int()
    for attack in (lambda: attacks.fgsm(model, x, y, 0.1), lambda: attacks.pgd(model, x, y, 0.1, steps=2),
                   lambda: robust_accuracy(model, D.TensorData(x, y, "mnist", "test"), [AttackSpec("clean")])):
        with pytest.raises(ValueError, match=match):
            attack()


@pytest.mark.parametrize("step_size", [torch.tensor(-0.01), torch.tensor(float("inf")), float("inf"), float("nan"),
                                       torch.tensor([0.01, 0.0])])
def test_pgd_refuses_a_negative_or_infinite_step_size_given_any_way(untrained, step_size):
    model, data = untrained
    with pytest.raises(ValueError, match="step_size"):
        attacks.pgd(model, data.images, data.labels, 0.1, steps=2, step_size=step_size)


def test_accuracy_over_no_images_or_batches_of_zero_is_refused(untrained):
    model, data = untrained
    with pytest.raises(ValueError, match="holds no images"):
        robust_accuracy(model, data.head(0), [AttackSpec("clean")])
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1"):
        robust_accuracy(model, data, [AttackSpec("clean")], batch_size=0)
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1"):
        predict(model, data.images, batch_size=0)


@pytest.mark.parametrize("n", [-5, 2.5, True])
def test_head_and_subset_refuse_negative_or_fractional_counts(untrained, n):
    _, data = untrained
    for take in (data.head, data.subset):
        with pytest.raises(ValueError, match="integer n >= 0"):
            take(n)
    assert len(data.head(0)) == 0 and len(data.subset(3)) == 3 and len(data.head(None)) == 8


@pytest.mark.parametrize("override,match", [(dict(epochs=0), "epochs must be an integer >= 1"),
                                            (dict(seeds=()), "seeds must be a non-empty tuple"),
                                            (dict(test_limit=-1), "test_limit must be None"),
                                            (dict(eopchs=2), "Unknown setting\\(s\\) eopchs. Valid: epochs")])
def test_profile_overrides_are_checked(override, match):
    with pytest.raises(ValueError, match=match):
        profiles.settings("smoke", **override)


def test_a_data_file_replaced_after_its_first_load_is_checked_again(tmp_path):
    root = tmp_path / "data"
    shutil.copytree(paths.REPO_ROOT / "data" / "FashionMNIST", root / "FashionMNIST")
    shutil.copytree(paths.REPO_ROOT / "data" / "MNIST", root / "MNIST")
    shutil.copy(paths.REPO_ROOT / "data" / "SHA256SUMS.uncompressed", root)
    assert len(cb.load_dataset("fashion_mnist", "test", root=root, limit=5)) == 5
    target = root / "FashionMNIST/raw/t10k-labels-idx1-ubyte.gz"
    raw = bytearray(gzip.decompress(target.read_bytes()))
    raw[50] ^= 1  # another label: still a valid file
    target.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(D.DataError, match="does not match its checksum"):
        cb.load_dataset("fashion_mnist", "test", root=root, limit=5)  # same process, file changed: checked again


# 4. errors that say what is wrong -------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs,match", [(dict(method=None), "method must be one of baseline"),
                                          (dict(method="baseline", seed=2**40), "seed must be an integer in 0..4294967295"),
                                          (dict(method="baseline", seed=-1), "seed must be an integer >= 0")])
def test_configs_name_the_field_and_what_is_valid(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**kwargs)


def test_every_spelling_load_dataset_accepts_works_in_the_tables():
    for name in ("FashionMNIST", "fashion-mnist", "fashion_mnist", "FMNIST"):
        assert cb.load_dataset(name, "test", limit=2).name == "fashion_mnist"
        assert PAPER_EPS[name] == 50 / 255 and CLASS_NAMES[name][0] == "T-shirt/top" and name in CLASS_NAMES
    assert PAPER_EPS["fake_cifar10"] == 8 / 255 and "nope" not in PAPER_EPS
    with pytest.raises(ValueError, match="Unknown dataset 'nope'. Valid names: mnist, fashion_mnist, cifar10"):
        PAPER_EPS["nope"]


def test_runner_refuses_an_out_file_and_a_garbled_timings_record_before_running(tmp_path, monkeypatch, capsys):
    ran = []
    monkeypatch.setattr(runner, "_execute", lambda *args: ran.append(args) or 0.0)
    out_file = tmp_path / "out.txt"
    out_file.write_text("x")
    assert runner.main(["--profile", "smoke", "--only", "2", "--out", str(out_file)]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "timings.json").write_text("[{\"notebook\": ")
    assert runner.main(["--profile", "smoke", "--only", "2", "--out", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "timings.json is not a timings record" in err and "delete it" in err and ran == []


def test_repository_check_names_a_notebook_that_is_not_json(fake_repo, capsys):
    book = sorted((fake_repo / "notebooks").glob("0*.ipynb"))[-1]
    book.write_text("{")
    assert repository.main(["check"]) == 1
    assert f"{book} is not a valid notebook" in capsys.readouterr().out
