"""Part 4 of the verdict (issue 24): the authors' PGD as their code computes it, the authors' baseline,
`signed_input` on every head, the two mechanism tests, and the part-4 shards on tiny configs."""
import dataclasses

import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import cibtools as cb
from cibtools import attacks, paper_settings as ps
from cibtools.cache import load_checkpoint, save_checkpoint
from cibtools.config import TrainConfig
from cibtools.evaluate import AttackSpec, authors_pgd, robust_accuracy
from cibtools.models import InputMap, build_model
from cibtools.train import first_linear, model_for, parameter_groups, training_loss


class TwoPixels(nn.Module):
    """Logits W x on two pixels: CE's input gradient has a constant sign, so every step is known."""
    n_classes = 2

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.tensor([[1.0, -1.0], [-1.0, 1.0]]))

    def forward(self, x):
        return x.flatten(1) @ self.w.T


def test_authors_pgd_matches_a_hand_computed_case():
    # label 0: raising pixel 0 helps class 0, so the loss rises along s = (-1, +1).
    # Pixel 0 starts at 0.02 (near the clip at 0), pixel 1 at 0.5; eps 0.1, step 0.03, 3 steps.
    model, x, y, eps, step = TwoPixels(), torch.tensor([[0.02, 0.5]]), torch.tensor([0]), 0.1, 0.03
    torch.manual_seed(5)
    out = attacks.authors_pgd(model, x, y, eps, steps=3, step_size=step)
    torch.manual_seed(5)
    u = torch.empty_like(x).uniform_(-eps, eps)[0].tolist()  # the same random offset
    s = (-1.0, 1.0)
    expected = []
    for i in range(2):  # their loop, by hand, one pixel at a time
        x0, d = x[0, i].item() + u[i], 0.0
        for _ in range(3):
            a = min(max(x0 + d, 0.0), 1.0)
            d = min(max(a + step * s[i] - x0, -eps), eps)
        expected.append(min(max(x[0, i].item() + d, 0.0), 1.0))
    assert out[0].tolist() == pytest.approx(expected, abs=1e-6)
    # pixel 1: three free steps of 0.03 from the clean point, whatever the offset: 0.5 + 0.09
    assert out[0, 1].item() == pytest.approx(0.59, abs=1e-6)
    # the example is applied at the clean point, not at the random offset
    assert (out - x).abs().max() <= eps + 1e-6


def test_authors_pgd_differs_from_a_correct_pgd_with_the_same_steps():
    torch.manual_seed(0)
    model = build_model("mlp", "linear").eval()
    x, y = torch.rand(16, 1, 28, 28), torch.randint(0, 10, (16,))
    torch.manual_seed(1)
    theirs = attacks.authors_pgd(model, x, y, 0.2, steps=5, step_size=0.05)
    torch.manual_seed(1)
    ours = attacks.pgd(model, x, y, 0.2, steps=5, step_size=0.05, loss="ce_on_softmax")
    assert (theirs - x).abs().max() <= 0.2 + 1e-6 and theirs.min() >= 0 and theirs.max() <= 1
    assert not torch.allclose(theirs, ours)


def test_authors_pgd_spec_label_and_rows():
    spec = authors_pgd(50 / 255)
    assert spec.kind == "authors_pgd" and spec.steps == 40 and spec.step_size == 0.01
    assert spec.label == "authors' PGD-40 (softmax-CE)"
    torch.manual_seed(0)
    model = build_model("mlp", "linear").eval()
    data = cb.TensorData(torch.rand(8, 1, 28, 28), torch.randint(0, 10, (8,)), "mnist", "test")
    row = robust_accuracy(model, data, [spec]).iloc[0]
    assert row["attack"] == spec.label and row["n"] == 8


def test_authors_baseline_is_their_mlp_with_a_double_softmax():
    cfg = ps.shards_named(["baseline-authors-mnist-s0"])[0].config(epochs=1)
    assert (cfg.arch, cfg.signed_input, cfg.double_softmax) == ("authors_mlp", True, True)
    model = model_for(cfg)
    shapes = [tuple(m.weight.shape) for m in model.modules() if isinstance(m, nn.Linear)]
    assert shapes == [(1024, 784), (1024, 1024), (256, 1024), (10, 256)]
    assert model.input_map == "signed"
    x, y = torch.rand(4, 1, 28, 28), torch.randint(0, 10, (4,))
    loss, _ = training_loss(model, cfg, x, y)
    assert loss.item() == pytest.approx(F.cross_entropy(model(x).softmax(-1), y).item(), rel=1e-6)
    plain = TrainConfig("baseline", epochs=1)
    loss_plain, _ = training_loss(model, plain, x, y)
    assert loss_plain.item() == pytest.approx(F.cross_entropy(model(x), y).item(), rel=1e-6)


@pytest.mark.parametrize("head", ["linear", "vib"])
def test_signed_input_on_each_head_is_the_unit_model_on_2x_minus_1(head):
    torch.manual_seed(0)
    unit = build_model("mlp", head).eval()
    torch.manual_seed(0)
    signed = build_model("mlp", head, signed_input=True).eval()
    assert signed.input_map == "signed" and unit.input_map is None
    x = torch.rand(5, 1, 28, 28)
    assert torch.allclose(signed(x), unit.logits_deterministic(x * 2 - 1), atol=1e-5)


def test_signed_input_config_for_every_method_and_refused_with_the_authors_bottleneck():
    for method in ("baseline", "vib", "causalib"):
        model = model_for(TrainConfig(method, signed_input=True))
        assert model.input_map == "signed"
    with pytest.raises(ValueError, match="signed_input"):
        TrainConfig("vib", bottleneck="authors", signed_input=True)
    with pytest.raises(ValueError, match="signed_input must be True or False"):
        TrainConfig("baseline", signed_input="yes")


def test_the_halves_of_the_rescaling_compose_to_the_signed_model():
    torch.manual_seed(0)
    unit = build_model("mlp", "linear").eval()
    x = torch.rand(5, 1, 28, 28)
    for name, mapped in (("doubled", x * 2), ("shifted", x - 1)):
        torch.manual_seed(0)
        model = model_for(TrainConfig("baseline", input_map=name)).eval()
        assert isinstance(model.encoder[0], InputMap) and model.encoder[0].name == name
        assert model.input_map != "signed"
        assert torch.allclose(model(x), unit.logits_deterministic(mapped), atol=1e-5)
    doubled_then_shifted = InputMap("shifted")(InputMap("doubled")(x))
    assert torch.equal(doubled_then_shifted, InputMap("signed")(x))
    for bad in (dict(input_map="signed"), dict(input_map="doubled", signed_input=True),
                dict(input_map="shifted", first_layer_init="signed")):
        with pytest.raises(ValueError, match="input_map"):
            TrainConfig("baseline", **bad)
    with pytest.raises(ValueError, match="input_map='doubled' is a baseline option"):
        TrainConfig("vib", input_map="doubled")  # never dropped in silence
    with pytest.raises(ValueError, match="one input map"):
        build_model("mlp", "linear", signed_input=True, input_map="doubled")
    assert TrainConfig("baseline", input_map="doubled").key() != TrainConfig("baseline").key()
    cfgs = [ps.shards_named([f"baseline-{v}-mnist-s0"])[0].config(epochs=1) for v in ("doubled", "shifted")]
    assert [(c.input_map, c.signed_input) for c in cfgs] == [("doubled", False), ("shifted", False)]


def test_later_fields_at_their_defaults_keep_the_cache_keys():
    # keys of configs cached before signed_input & co existed (computed at commit b2a52c1)
    assert TrainConfig("baseline").key() == "5af27fb03eed599f"
    assert TrainConfig("vib").key() == "6fb4a5296b2a858b"
    assert TrainConfig("vib", bottleneck="authors", train_samples=12).key() == "83e3758c72342ae6"
    assert TrainConfig("baseline", signed_input=True).key() != TrainConfig("baseline").key()


def test_signed_init_starts_as_the_signed_models_function():
    torch.manual_seed(0)
    unit_start = model_for(TrainConfig("baseline", first_layer_init="signed")).eval()
    torch.manual_seed(0)
    signed = model_for(TrainConfig("baseline", signed_input=True)).eval()
    x = torch.rand(6, 1, 28, 28)
    assert torch.allclose(unit_start(x), signed(x), atol=1e-4)
    assert unit_start.input_map != "signed"
    with pytest.raises(ValueError, match="signed_input=False"):
        TrainConfig("baseline", first_layer_init="signed", signed_input=True)


def test_dark_bias_lr_puts_the_first_bias_in_its_own_group():
    shard = ps.shards_named(["baseline-dark_bias_lr-mnist-s0"])[0]
    cfg = shard.config(epochs=1)
    assert cfg.first_bias_lr_scale == 1 + cb.data.always_dark_pixels("mnist") and cfg.first_bias_lr_scale > 1
    model = model_for(cfg)
    groups = parameter_groups(model, cfg)
    assert groups[1]["params"][0] is first_linear(model).bias and groups[1]["lr"] == cfg.lr * cfg.first_bias_lr_scale
    assert sum(len(g["params"]) for g in groups) == len(list(model.parameters()))


def test_part4_shards_run_on_tiny_configs_with_the_authors_pgd(tmp_path):
    names = [s.name for s in ps.part4_shards()]
    assert names[:2] == ["baseline-authors-mnist-s0", "baseline-signed-mnist-s0"] and len(set(names)) == len(names)
    for name in ("baseline-authors-mnist-s0", "vib-signed-mnist-s0"):
        shard = ps.shards_named([name])[0]
        rows = ps.run_shard(shard, rows_dir=tmp_path / "rows", device="cpu", epochs=1, train_limit=100, test_limit=10,
                            cache=tmp_path)
        mine = rows[rows["protocol"] == "authors_pgd"]
        assert sorted(mine["eps_255"]) == [8.0, 16.0, 50.0] and set(mine["attack"]) == {"authors' PGD-40 (softmax-CE)"}
        assert (rows["part"] == "4").all() and (rows["device"] == "cpu").all()
    assert ps.run_shard(shard, rows_dir=tmp_path / "rows", device="cpu", epochs=1, train_limit=100, test_limit=10,
                        cache=tmp_path) is None


def test_a_lost_checkpoint_is_retrained_checked_against_its_rows_then_attacked_with_the_authors_pgd(tmp_path,
                                                                                                   monkeypatch):
    shard, cache, rows_dir = ps.shards_named(["baseline-signed-mnist-s1"])[0], tmp_path / "cache", tmp_path / "rows"
    original = ps.Shard.config
    monkeypatch.setattr(ps.Shard, "config", lambda self, epochs=1, train_limit=100: original(self, 1, 100))
    with monkeypatch.context() as before_part4:  # a shard finished before the authors' PGD existed
        before_part4.setattr(ps, "authors_pgd_rows", lambda *args, **kwargs: pd.DataFrame())
        ps.run_shard(shard, rows_dir=rows_dir, device="cpu", epochs=1, train_limit=100, test_limit=20, cache=cache)
    path = ps.checkpoint_path(shard.config(), cache)
    first = path.read_bytes()
    path.unlink()  # a new machine: the rows are committed, the model is gone
    with pytest.raises(FileNotFoundError, match="run the shard first"):
        ps.run_strong(shard, rows_dir, "cpu", test_limit=20, cache=cache, eps_255=16, kinds=("authors_pgd",))
    rows = ps.run_strong(shard, rows_dir, "cpu", test_limit=20, cache=cache, eps_255=16, kinds=("authors_pgd",),
                         retrain_missing=True)
    again, before = (load_checkpoint(p, shard.config()).model.state_dict()
                     for p in (path, _write(tmp_path / "first.pt", first)))
    assert all(torch.equal(again[k], before[k]) for k in before)  # the same weights again
    assert list(rows["attack"]) == ["authors' PGD-40 (softmax-CE)"] and rows["eps_255"].item() == 16
    assert rows["mode"].item() == "deterministic" and rows["n"].item() == 20
    assert ps.run_strong(shard, rows_dir, "cpu", test_limit=20, cache=cache, eps_255=16, kinds=("authors_pgd",)) is None
    verdict = ps.verdict_rows(rows_dir)  # the verdict counts it as a row of the shard, under its own protocol
    theirs = verdict[verdict["protocol"] == "authors_pgd"]
    assert len(theirs) == 1 and theirs["part"].item() == "4" and theirs["accuracy"].item() == rows["accuracy"].item()
    assert len(verdict) == len(ps.read_rows(rows_dir)) + 1
    path.unlink()  # retrained differently (another seed): refused, and kept aside, never used for rows
    train = ps.train
    monkeypatch.setattr(ps, "train", lambda cfg, **kw: train(dataclasses.replace(cfg, seed=cfg.seed + 7), **kw))
    with pytest.raises(ValueError, match="is not the model of its rows.*then `adopt` it"):
        ps.retrain(shard, rows_dir, "cpu", cache)
    assert not path.exists() and path.with_suffix(".differs.pt").exists()
    other = load_checkpoint(tmp_path / "first.pt", shard.config())  # another model of the same config in the cache
    with torch.no_grad():
        first_linear(other.model).weight.mul_(-1.0)
    save_checkpoint(other, path)
    with pytest.raises(ValueError, match="s1: .* is not the model of its rows.*differs-2.pt.*--retrain-missing"):
        ps.run_strong(shard, rows_dir, "cpu", test_limit=20, cache=cache, eps_255=8, kinds=("authors_pgd",))
    assert len(ps.read_strong(rows_dir)) == 1 and not path.exists()  # no row from it, and set aside
    with pytest.raises(ValueError, match="0 clean rows"):
        ps.retrain(ps.shards_named(["baseline-signed-mnist-s2"])[0], rows_dir, "cpu", cache)


def test_a_checkpoint_trained_at_the_rows_commit_is_adopted_after_the_same_check(tmp_path, monkeypatch, capsys):
    shard, cache, rows_dir = ps.shards_named(["baseline-signed-mnist-s1"])[0], tmp_path / "cache", tmp_path / "rows"
    original = ps.Shard.config
    monkeypatch.setattr(ps.Shard, "config", lambda self, epochs=1, train_limit=100: original(self, 1, 100))
    monkeypatch.setenv("CIB_CACHE_DIR", str(cache))
    ps.run_shard(shard, rows_dir=rows_dir, device="cpu", epochs=1, train_limit=100, test_limit=20, cache=cache)
    path = ps.checkpoint_path(shard.config(), cache)
    trained = load_checkpoint(path, shard.config())

    def as_format1(model):  # what the code of an older commit wrote: no digest
        torch.save({"format": 1, "config": shard.config().as_dict(), "history": trained.history, "device": "cpu",
                    "state_dict": {k: v.clone() for k, v in model.state_dict().items()}}, path)

    as_format1(trained.model)
    with pytest.raises(cb.cache.CheckpointError, match="unknown format"):
        load_checkpoint(path, shard.config())
    ps.main(["adopt", shard.name, "--dir", str(rows_dir), "--device", "cpu"])
    assert "adopted" in capsys.readouterr().out
    again = load_checkpoint(path, shard.config()).model.state_dict()  # today's format, the same weights
    assert all(torch.equal(again[k], v) for k, v in trained.model.state_dict().items())
    with torch.no_grad():
        first_linear(trained.model).weight.mul_(-1.0)
    as_format1(trained.model)  # another model: refused, set aside, never used for rows
    with pytest.raises(SystemExit, match="is not the model of its rows"):
        ps.main(["adopt", shard.name, "--dir", str(rows_dir), "--device", "cpu"])
    assert not path.exists() and path.with_suffix(".differs.pt").exists()
    as_format1(trained.model)  # refused again: the first model set aside is kept, not overwritten
    with pytest.raises(SystemExit, match=r"kept aside as .*\.differs-2\.pt"):
        ps.main(["adopt", shard.name, "--dir", str(rows_dir), "--device", "cpu"])
    with pytest.raises(SystemExit, match="missing: train baseline-signed-mnist-s1 with the code of commit"):
        ps.main(["adopt", shard.name, "--dir", str(rows_dir)])
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(SystemExit, match="corrupt or unreadable"):
        ps.main(["adopt", shard.name, "--dir", str(rows_dir)])


def _write(path, data):
    path.write_bytes(data)
    return path


def _rows(spec, dataset="mnist"):
    """Synthetic 50-epoch rows: (method, variant, seed, protocol, mode, kind, attack, eps, accuracy)."""
    cols = ["method", "variant", "seed", "protocol", "mode", "kind", "attack", "eps_255", "accuracy"]
    return pd.DataFrame(spec, columns=cols).assign(dataset=dataset, epochs=50)


def test_closest_to_paper_picks_the_nearest_combination_and_its_autoattack():
    from cibtools import reproduction as R
    rows = _rows([
        ("vib", "ours", 0, "sound", "mean", "fgsm", "FGSM", 50, 1.0),
        ("vib", "authors", 0, "sound", "mean", "fgsm", "FGSM", 50, 60.0),
        ("vib", "authors", 0, "authors_pgd", "sample", "authors_pgd", "authors' PGD-40", 50, 40.0),
        ("vib", "authors", 0, "sound", "mean", "pgd", "PGD-20", 50, 20.0),
        ("vib", "authors", 0, "sound", "mean", "pgd", "PGD-20", 16, 41.84),  # another budget: never a candidate
        ("vib", "shifted", 0, "sound", "mean", "fgsm", "FGSM", 50, 66.06),  # a mechanism test: never a candidate
        ("vib", "ours", 0, "sound", "mean", "clean", "clean", 0, 98.7),
        ("vib", "alemi", 0, "sound", "mean", "clean", "clean", 0, 98.7),  # as close, but
        ("vib", "alemi", 1, "sound", "mean", "clean", "clean", 0, 98.7),  # on more seeds: taken
    ])
    strong = pd.DataFrame({"shard": ["vib-authors-mnist-s0"] * 2, "kind": ["autoattack"] * 2,
                           "eps_255": [50.0, 50.0], "n": [1000, 10000], "accuracy": [0.5, 0.02]})
    table = R.closest_to_paper(rows, strong, methods=("vib",), datasets=("mnist",)).set_index("column")
    assert table.loc["FGSM", "ours"] == 60.0 and table.loc["FGSM", "distance"] == pytest.approx(60.0 - 66.06)
    assert "authors' PGD-40" in table.loc["PGD-20", "closest"] and table.loc["PGD-20", "ours"] == 40.0
    assert table.loc["PGD-20", "AA 50"] == 0.02  # on the most images
    assert table.loc["clean", "seeds"] == 2 and "Alemi" in table.loc["clean", "closest"]


def test_scaling_table_pairs_only_seeds_both_scalings_have():
    from cibtools import reproduction as R
    rows = _rows([
        ("baseline", "ours", 0, "sound", "deterministic", "pgd", "PGD-20", 16, 20.0),
        ("baseline", "ours", 1, "sound", "deterministic", "pgd", "PGD-20", 16, 30.0),
        ("baseline", "signed", 0, "sound", "deterministic", "pgd", "PGD-20", 16, 70.0),
        ("baseline", "ours", 0, "sound", "deterministic", "clean", "clean", 0, 98.0),
        ("baseline", "signed", 0, "sound", "deterministic", "clean", "clean", 0, 98.5),
    ])
    table = R.scaling_table(rows).set_index("variant")
    assert table.loc["ours", "PGD-20 16"] == 20.0 and table.loc["ours", "seeds"] == 1  # seed 1 has no partner
    assert table.loc["signed", "inputs"] == "[-1, 1]"
    (line,) = R.scaling_lines(table.reset_index())
    assert "20.0% with inputs in [0, 1], 70.0% in [-1, 1] (+50.0 points)" in line and "AutoAttack" not in line
    strong = pd.DataFrame({"shard": ["baseline-ours-mnist-s0"], "kind": ["autoattack"], "eps_255": [16.0], "n": [1000],
                           "accuracy": [13.1]})
    (line,) = R.scaling_lines(R.scaling_table(rows, strong))
    assert "AutoAttack at 16/255 13.1% with inputs in [0, 1], not run yet in [-1, 1]" in line and "nan" not in line


@pytest.mark.parametrize("head", ["vib", "authors"])
def test_eot_at_the_bottleneck_gives_the_gradient_of_k_full_passes(head):
    # issue 25: the encoder runs once and the k x S codes are drawn at the bottleneck; with the same seed
    # the gradient equals that of the batch repeated k times through the whole model
    torch.manual_seed(0)
    model = build_model("mlp", head).eval()
    x, y = torch.rand(6, 1, 28, 28), torch.randint(0, 10, (6,))
    with model.prediction("sample", 5):
        torch.manual_seed(7)
        fast = attacks.input_gradient(model, x, y, "ce", eot=4)
        xx = x.clone().requires_grad_(True)
        torch.manual_seed(7)
        reps = xx.unsqueeze(0).expand(4, *x.shape).reshape(-1, *x.shape[1:])
        (slow,) = torch.autograd.grad(F.cross_entropy(model(reps), y.repeat(4), reduction="sum") / 4, xx)
    assert torch.allclose(fast, slow, rtol=1e-4, atol=1e-7)
    det = build_model("mlp", "linear").eval()  # a deterministic model: k passes are one pass repeated
    assert torch.allclose(det.eot_logits(x, 3), det(x).expand(3, -1, -1), atol=1e-6)


def test_mechanism_lines_say_what_each_test_rules_in_or_out():
    from cibtools import reproduction as R
    spec = [("baseline", v, 0, "sound", "deterministic", "pgd", "PGD-20", 16, acc)
            for v, acc in (("ours", 20.0), ("signed", 80.0), ("signed_init", 25.0), ("dark_bias_lr", 70.0),
                           ("doubled", 41.0), ("shifted", 50.0))]
    table = R.mechanism_table(_rows(spec))
    assert list(table["variant"]) == ["ours", "signed", "signed_init", "dark_bias_lr", "doubled", "shifted"]
    start, bias, doubled, shifted = R.mechanism_lines(table)
    assert "8% of the gap: it is not the main mechanism" in start
    assert "83% of the gap: it carries most of the effect" in bias
    assert doubled.startswith("Is it the doubling?") and "35% of the gap: it carries part of it" in doubled
    assert shifted.startswith("Is it the shift?") and "50% of the gap: it" in shifted  # no AutoAttack rows: none quoted
    strong = pd.DataFrame({"shard": [f"baseline-{v}-mnist-s0" for v in ("ours", "signed", "shifted")],
                           "kind": "autoattack", "eps_255": 16.0, "n": 1000, "accuracy": [13.0, 65.0, 60.0]})
    *_, shifted = R.mechanism_lines(R.mechanism_table(_rows(spec), strong))
    assert "50% of the gap; AutoAttack at 16/255 60.0%, against 13.0% and 65.0%: it carries part of it" in shifted
    assert R.mechanism_lines(table[table["variant"] != "signed"]) == []


def test_which_part_lines_name_the_part_with_the_largest_change_per_dataset_whatever_it_is():
    from cibtools import reproduction as R
    spec = [(m, v, 0, "sound", mode, "pgd", "PGD-20", 16, acc) for m, v, mode, acc in (
        ("baseline", "ours", "deterministic", 20.0), ("baseline", "signed", "deterministic", 30.0),
        ("vib", "ours", "mean", 60.0), ("vib", "signed", "mean", 65.0))]
    parts = R.small_budget_parts(_rows(spec))
    assert set(parts["attack"]) == {"PGD-20"} and len(parts) == 4 and set(parts["dataset"]) == {"mnist"}
    [line] = R.which_part_lines(parts)
    assert line.startswith("At 16/255 (MNIST,")
    assert "the bottleneck (none -> VIB or CausalIB) carries most" in line  # +37.5 against +7.5
    strong = pd.DataFrame({"shard": ["baseline-ours-mnist-s0", "baseline-signed-mnist-s0"], "kind": ["autoattack"] * 2,
                           "eps_255": [16.0, 16.0], "n": [1000, 1000], "accuracy": [10.0, 90.0]})
    parts = R.small_budget_parts(_rows(spec), strong)
    assert parts.iloc[0]["attack"] == "AutoAttack" and parts.iloc[0]["change"] == 80.0
    assert "no pair" in R.which_part_lines(parts.iloc[0:0])[0]
    # a second dataset gets a line of its own; averages within the margin (5 points) name no part
    fashion = [(m, v, 0, "sound", mode, "pgd", "PGD-20", 16, acc) for m, v, mode, acc in (
        ("baseline", "ours", "deterministic", 10.0), ("baseline", "signed", "deterministic", 16.0),
        ("vib", "ours", "mean", 14.0), ("vib", "signed", "mean", 20.0))]  # scaling +6, +6; bottleneck +4, +4
    parts = R.small_budget_parts(pd.concat([_rows(spec), _rows(fashion, "fashion_mnist")]))
    mnist, fmnist = R.which_part_lines(parts)
    assert "(MNIST," in mnist and "the bottleneck (none -> VIB or CausalIB) carries most" in mnist
    assert fmnist.startswith("At 16/255 (FashionMNIST,") and "no part carries most" in fmnist  # +6 against +4
    assert "+6.0 points on average over 2 pair(s)" in fmnist and "+4.0 points on average over 2 pair(s)" in fmnist
    only = parts[(parts["dataset"] == "mnist") & parts["part"].str.startswith("the bottleneck")]
    assert "only one part has measured pairs" in R.which_part_lines(only)[0]
