"""The authors' bottleneck, resumable training and the paper-settings shards (issue 11), on tiny configs."""
import math

import pandas as pd
import pytest
import torch

import cibtools as cb
from cibtools import losses
from cibtools import paper_settings as PS
from cibtools.models import AuthorsBottleneck, build_model
from cibtools.train import model_for, training_loss


def test_authors_head_shapes_probabilities_and_raw_sigma():
    torch.manual_seed(0)
    model = build_model("mlp", "authors", k=16, predict_mode="sample").eval()
    assert isinstance(model.head, AuthorsBottleneck)
    x = torch.rand(5, 1, 28, 28)
    logits = model(x)
    assert logits.shape == (5, 10)
    assert torch.allclose(logits.softmax(-1).sum(-1), torch.ones(5), atol=1e-5)
    # the authors' forward: softmax of the mean over the draws of the logits
    mu, sigma = model.head.stats(model.encoder(x))
    assert mu.shape == sigma.shape == (5, 16)
    assert (sigma < 0).any(), "the std head's output is used as it is and may be negative"
    with torch.no_grad():
        model.head.std_head[-1].bias.fill_(0.0)
        model.head.std_head[-1].weight.fill_(0.0)  # sigma = 0: every draw is mu
        expected = model.head.decode(model.head.stats(model.encoder(x))[0]).softmax(-1)
        assert torch.allclose(model(x).exp(), expected, atol=1e-5)
    # inputs are rescaled to [-1, 1] before the first layer
    assert torch.allclose(model.encoder[0](torch.zeros(1)), torch.tensor([-1.0]))


def test_authors_loss_is_finite_with_negative_sigma_and_in_bits():
    cfg = cb.TrainConfig("causalib", bottleneck="authors", train_samples=12, causal_variant="authors",
                         causal_norm="smooth_l1", beta=0.2).resolved()
    model = model_for(cfg)
    with torch.no_grad():
        model.head.std_head[-1].bias.fill_(-3.0)  # most sigmas negative
    x, y = torch.rand(8, 1, 28, 28), torch.randint(0, 10, (8,))
    total, terms = training_loss(model, cfg, x, y)
    assert torch.isfinite(total) and set(terms) >= {"ce", "kl", "causal"}
    mu, sigma = model.head.stats(model.encoder(x))
    kl = losses.kl_to_standard_normal(mu, sigma, sigma_floor=1e-8).mean() / math.log(2)
    assert torch.allclose(terms["kl"], kl, rtol=1e-4)  # log(clamp(sigma, 1e-8)), divided by ln 2
    total.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_resumed_training_equals_uninterrupted(tmp_path, monkeypatch):
    import importlib

    T = importlib.import_module("cibtools.train")  # the module (cibtools.train is also the function)

    data = cb.load_dataset("mnist", "train", limit=300)
    cfg = cb.TrainConfig("vib", epochs=3, batch_size=50, train_limit=300, adam_beta1=0.5, lr_decay=0.97,
                         ema_decay=0.9)
    whole = cb.train(cfg, device="cpu", data=data, progress=False, snapshot_epochs=(2,))
    state, saves, save = tmp_path / "s.state.pt", [], T._save_state

    def save_then_stop(path, payload):  # the process dies right after saving epoch 2
        save(path, payload)
        saves.append(payload["history"][-1]["epoch"])
        if len(saves) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(T, "_save_state", save_then_stop)
    with pytest.raises(KeyboardInterrupt):
        cb.train(cfg, device="cpu", data=data, progress=False, state_path=state, snapshot_epochs=(2,))
    monkeypatch.undo()
    assert saves == [1, 2] and state.exists()
    torch.manual_seed(123)  # a fresh process: other global random state
    resumed = cb.train(cfg, device="cpu", data=data, progress=False, state_path=state, snapshot_epochs=(2,))
    assert len(resumed.history) == 3 and resumed.history[:2] == torch.load(state, weights_only=True)["history"][:2]
    for a, b in zip(whole.model.state_dict().values(), resumed.model.state_dict().values()):
        assert torch.equal(a, b)
    assert all(torch.equal(whole.snapshots[2][k], resumed.snapshots[2][k]) for k in whole.snapshots[2])


def _tiny_run(shard, root, cache):
    return PS.run_shard(shard, rows_dir=root, device="cpu", epochs=5, train_limit=200, test_limit=40, cache=cache)


def test_shard_rows_skip_and_atomic_append(tmp_path):
    csv, cache = tmp_path / "rows", tmp_path / "cache"
    shard = PS.Shard("vib", "authors", "mnist", 0, "2")
    rows = _tiny_run(shard, csv, cache)
    table = PS.read_rows(csv)
    assert list(table.columns) == PS.CSV_COLUMNS and len(table) == len(rows)
    assert set(table["protocol"]) == {"sound", "authors", "authors_pgd"} and set(table["mode"]) == {"mean", "sample"}
    assert set(table["epochs"]) == {5, PS.SNAPSHOT_EPOCH} and set(table["eps_255"]) == {0, 8, 16, 50}
    assert (table["n"] == 40).all() and (table["device"] == "cpu").all()
    assert not list((cache / "paper_settings").glob("*.state.pt"))  # done: the resume state is gone
    scales = PS.read_scales(csv)  # the noise the model learned, recorded as the shard finished
    assert list(scales["shard"]) == [shard.name] and scales["n"].item() == 40 and scales["sigma_mean"].item() > 0
    assert _tiny_run(shard, csv, cache) is None  # rows present: skipped
    assert len(PS.read_rows(csv)) == len(rows)
    assert PS.rows_store.write_once(PS.TABLE1, csv, shard.name, PS.rows_store.frame_text(PS.TABLE1, rows)) is None
    assert PS.status(csv).set_index("shard").loc[shard.name, "done"]


def test_interrupted_shard_leaves_no_rows_and_resumes(tmp_path, monkeypatch):
    csv, cache = tmp_path / "rows", tmp_path / "cache"
    shard = PS.Shard("baseline", "ours", "mnist", 1, "1")

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(PS, "evaluate_model", boom)
    with pytest.raises(KeyboardInterrupt):
        _tiny_run(shard, csv, cache)
    [state_path] = (cache / "paper_settings").glob("*.state.pt")
    assert not list(csv.glob("shards/*"))
    state = torch.load(state_path, weights_only=True)
    for epoch in state["history"]:  # known times (5 tiny epochs can take under the 0.1 s the rows record)
        epoch["seconds"] = 1.5
    torch.save(state, state_path)
    monkeypatch.undo()
    rows = _tiny_run(shard, csv, cache)  # training is not repeated: the state holds all 5 epochs and their times
    assert rows is not None and (rows["train_seconds"] == 7.5).all() and len(PS.read_rows(csv)) == len(rows)
    assert PS.read_scales(csv).empty  # a baseline has no bottleneck noise


def test_shard_command_on_a_tiny_config(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CIB_CACHE_DIR", str(tmp_path / "cache"))
    csv = tmp_path / "rows"
    PS.main(["run", "baseline-ours-fashion_mnist-s0", "--epochs", "1", "--train-limit", "100",
             "--test-limit", "20", "--dir", str(csv), "--device", "cpu"])
    assert "baseline-ours-fashion_mnist-s0" in set(PS.read_rows(csv)["shard"])
    PS.main(["status", "--dir", str(csv)])
    out = capsys.readouterr().out
    assert f"1 of {sum(s.part != 'extra' for s in PS.all_shards())} shards done" in out  # parts 1-4
    with pytest.raises(SystemExit, match="give --dir"):
        PS.main(["run", "--epochs", "1"])
    with pytest.raises(SystemExit, match="Unknown shard"):
        PS.main(["run", "nope", "--dir", str(csv)])


def test_there_are_18_part1_and_5_part2_shards():
    shards = PS.all_shards()
    assert sum(s.part == "1" for s in shards) == 18 and sum(s.part == "2" for s in shards) == 5
    assert len({s.name for s in shards}) == len(shards)
    cfg = PS.Shard("causalib", "authors", "mnist", 0, "2").config()
    assert (cfg.bottleneck, cfg.causal_variant, cfg.beta, cfg.train_samples, cfg.epochs) == ("authors", "authors", 0.2, 12, 50)
    alemi = PS.Shard("vib", "alemi", "mnist", 0, "2").config()
    assert (alemi.adam_beta1, alemi.lr_decay, alemi.ema_decay) == (0.5, 0.97, 0.999)


def test_strong_attacks_on_a_finished_shard(tmp_path):
    cache = tmp_path / "cache"
    shard = PS.Shard("vib", "ours", "mnist", 1, "1")
    PS.run_shard(shard, rows_dir=tmp_path, device="cpu", epochs=1, train_limit=100, test_limit=20, cache=cache)
    original = PS.Shard.config
    try:
        PS.Shard.config = lambda self, epochs=1, train_limit=100: original(self, 1, 100)
        rows = PS.run_strong(shard, rows_dir=tmp_path, device="cpu", test_limit=20, cache=cache, aa_images=0)
        # a later call adds only what is missing (here AutoAttack, on the first 8 images), then nothing
        aa = PS.run_strong(shard, rows_dir=tmp_path, device="cpu", test_limit=20, cache=cache, aa_images=8)
        assert PS.run_strong(shard, rows_dir=tmp_path, device="cpu", test_limit=20, cache=cache, aa_images=8) is None
        more = PS.run_strong(shard, rows_dir=tmp_path, device="cpu", test_limit=20, cache=cache, aa_images=12)
        other = PS.run_strong(shard, rows_dir=tmp_path, device="cpu", test_limit=20, cache=cache, aa_images=8,
                              eps_255=16, kinds=("autoattack",))  # another budget, one kind: a row of its own
    finally:
        PS.Shard.config = original
    assert list(rows["attack"]) == ["clean", "CW-20", "CW-100", "PGD-20 x5 restarts", "PGD-20"]
    assert rows.loc[rows["eps_255"] == 255, "accuracy"].item() <= 10.0  # unbounded: chance or below
    assert list(aa["attack"]) == ["AA-LINF"] and aa["n"].item() == 8
    assert list(more["attack"]) == ["AA-LINF"] and more["n"].item() == 12  # on more images: a new row
    assert list(other["attack"]) == ["AA-LINF"] and other["eps_255"].item() == 16 and other["n"].item() == 8
    saved = PS.read_strong(tmp_path)
    assert (saved["shard"] == shard.name).all() and len(saved) == 8
    with pytest.raises(FileNotFoundError, match="run the shard first"):
        PS.run_strong(PS.Shard("vib", "ours", "mnist", 2, "1"), rows_dir=tmp_path, cache=cache)
    with pytest.raises(FileNotFoundError, match="run the shard first"):
        PS.finished_model("vib-ours-mnist-s2", cache=cache)  # by name, as notebook 11's exercise loads one
    with pytest.raises(ValueError, match="Unknown shard.*nope"):
        PS.finished_model("nope")


def test_each_ablation_drops_one_part_of_the_authors_bottleneck():
    from cibtools.models import AUTHORS_BOTTLENECKS

    assert set(AUTHORS_BOTTLENECKS) == set(cb.config.BOTTLENECKS) - {"alemi"}
    x, y = torch.rand(6, 1, 28, 28), torch.randint(0, 10, (6,))
    for name, parts in AUTHORS_BOTTLENECKS.items():
        torch.manual_seed(0)
        cfg = PS.Shard("vib", name if name != "authors" else "authors_1draw", "mnist", 0, "3").config()
        model = model_for(cfg)
        assert isinstance(model.head, AuthorsBottleneck)
        assert (model.input_map == "signed") == parts.signed_input, name
        assert isinstance(model.head.mean_head, torch.nn.Sequential) == parts.deep_heads, name
        last = model.head.std_head[-1] if parts.deep_heads else model.head.std_head
        with torch.no_grad():
            last.bias.fill_(-3.0)  # most raw stds negative
        sigma = model.head.stats(model.encoder(x))[1]
        assert (sigma > 0).all() != parts.raw_sigma, name  # softplus(raw - 5) is positive; the raw std is not
        total, _ = training_loss(model, cfg, x, y)
        assert torch.isfinite(total), name
        assert cfg.train_samples == (1 if name == "authors" else 12)
    with pytest.raises(ValueError, match="use arch='mlp'"):
        cb.TrainConfig("vib", "cifar10", arch="alexnet", bottleneck="authors_linear_heads")


def test_part3_shards_come_after_parts_1_and_2_so_job_array_indices_hold():
    shards = [s for s in PS.all_shards() if s.part != "extra"]
    assert [s.part for s in shards[:23]].count("3") == 0 and [s.name for s in shards[23:27]] == [
        f"vib-{v}-mnist-s0" for v in PS.ABLATIONS]


def test_noise_scales_of_a_finished_shard(tmp_path):
    cache, csv = tmp_path / "cache", tmp_path / "rows"
    shard = PS.Shard("vib", "authors_softplus_sigma", "mnist", 0, "3")
    original = PS.Shard.config
    try:
        PS.Shard.config = lambda self, epochs=1, train_limit=100: original(self, 1, 100)
        result = cb.train_or_load(shard.config(), device="cpu", cache=cache, progress=False)
        rows = PS.run_scales(shard, rows_dir=csv, device="cpu", test_limit=30, cache=cache)
        assert PS.run_scales(shard, rows_dir=csv, device="cpu", test_limit=30, cache=cache) is None  # present: skipped
        with pytest.raises(FileNotFoundError, match="run the shard first"):
            PS.run_scales(PS.Shard("vib", "authors", "mnist", 0, "2"), rows_dir=csv, cache=cache)
    finally:
        PS.Shard.config = original
    table = PS.read_scales(csv)
    assert list(table.columns) == PS.SCALE_COLUMNS and len(table) == 1 and table["n"].item() == 30
    x = cb.load_dataset("mnist", "test", limit=30).images
    with torch.no_grad():
        mu, sigma = result.model.eval().head.stats(result.model.encoder(x))
    assert math.isclose(rows["sigma_mean"].item(), float(sigma.abs().mean()), rel_tol=1e-5)
    assert math.isclose(rows["snr"].item(), float(mu.std(0).mean() / sigma.abs().mean()), rel_tol=1e-5)
    pd.DataFrame({"shard": ["x"]}).to_csv(csv / "scales" / "x.csv", index=False)  # a damaged file is refused
    with pytest.raises(ValueError, match="x.csv line 1 is not the header.*git checkout"):
        PS.read_scales(csv)
