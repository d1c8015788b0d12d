"""Table 1 at the paper's own settings (50 epochs, batch 100, seeds 0-2, all 10,000 test images), in
resumable shards whose rows go to `results/paper_settings/table1.csv`.

A shard is one trained model, `<method>-<variant>-<dataset>-s<seed>`:
- `ours`: our models (Alemi et al.'s bottleneck, Adam lr 1e-4), Baseline / VIB (alpha 0.01) /
  CausalIB (alpha = beta = 0.05, L1), MNIST and FashionMNIST, seeds 0, 1, 2 (18 shards, part 1);
- `authors`: the bottleneck of the public code that appears to be the authors' (`bottleneck="authors"`,
  12 draws, CE and KL in bits, for CausalIB their regulariser with w_reg = 0.2 and smooth-L1),
  VIB and CausalIB, both datasets, seed 0 (4 shards, part 2);
- `alemi`: VIB trained as Alemi et al. trained theirs (Adam beta1 = 0.5, lr x 0.97 every 2 epochs,
  weights' moving average 0.999 evaluated), MNIST, seed 0 (1 shard, part 2);
- part 3, which part of the authors' bottleneck makes it robust: their VIB (MNIST, seed 0) without one
  part each: inputs in [0, 1] instead of [-1, 1] (`authors_unit_input`), one Linear layer per head
  instead of two (`authors_linear_heads`), Alemi's softplus(raw - 5) std instead of the raw one
  (`authors_softplus_sigma`), one training draw instead of 12 (`authors_1draw`) (4 shards);
- part 4, the authors' code path end to end and input scaling on every model: the authors' baseline
  (`baseline-authors`: their MLP 784-1024-1024-256-10, [-1, 1] inputs, cross-entropy on its softmax
  output), seeds 0-2 on both datasets; our Baseline, VIB and CausalIB with inputs rescaled to [-1, 1]
  (`signed`), seeds 0-2 on MNIST and seed 0 on FashionMNIST; and two tests of the mechanism on the plain
  baseline (MNIST, seed 0): a [0, 1]-input model whose first layer starts as the [-1, 1] model's function
  (`signed_init`), and one whose first-layer bias learns (1 + always-dark pixels) x faster
  (`dark_bias_lr`), as the always-dark pixels' weights make the [-1, 1] model's effective bias do;
- `extra` (run only on a CUDA device, or when named): the other methods of Table 1 at 50 epochs.

Each shard trains (resuming from its last saved epoch, optimiser state included, from
`<cache>/paper_settings/<shard>.state.pt`), then evaluates at eps = 8, 16 and 50/255: clean, FGSM and
PGD-20 in the model's `mean` (or deterministic) prediction; for VIB/CausalIB also in `sample` mode
with EOT-4 gradients, the authors' protocol (FGSM and PGD-40 step 0.01 on CE of the probabilities,
one random pass per step), the authors' PGD as their code computes it (`evaluate.authors_pgd`; shards run
since part 4), and for the seed-0 MNIST shards the same at 50/255 on the epoch-4 weights
(the factor "4 vs 50 epochs"). Only then does it append all its rows at once (under a file lock,
written to a temporary file and renamed), so an interrupted shard leaves no rows; a shard whose rows
are present is skipped.

    python -m cibtools.paper_settings status             # what is done, what is left
    python -m cibtools.paper_settings run                # every missing shard, in order
    python -m cibtools.paper_settings run vib-ours-mnist-s1   # one shard (names from `status`)
    python -m cibtools.paper_settings strong vib-authors-mnist-s0  # stronger attacks on a robust-looking one
    python -m cibtools.paper_settings strong vib-ours-mnist-s0 --eps-255 16 --kinds autoattack  # one, elsewhere
    python -m cibtools.paper_settings scales             # the noise scale each finished VIB-type model learned
    # a cluster runs shards side by side, e.g. a Slurm job array over the shard indices:
    sbatch --array=0-26 --wrap 'python -m cibtools.paper_settings run --index $SLURM_ARRAY_TASK_ID'

Shard times measured on this project's 2-core CPU with one thread while the other core worked (50 epochs,
then the full evaluation; each row's `train_seconds` and `seconds` record its own): a VIB shard 29-50 min
(vib-ours-mnist-s0: 908 s training + 969 s evaluation; vib-ours-fashion_mnist-s0: 974 s + 770 s; vib-alemi-mnist-s0:
1418 s + 1087 s; vib-authors-mnist-s0: 1628 s + 1354 s; vib-authors-fashion_mnist-s0: 1397 s + 956 s;
vib-ours-mnist-s2, beside two other jobs: 1389 s + 1225 s), a CausalIB shard 30-54 min (causalib-ours-mnist-s0:
1099 s + 1009 s; causalib-ours-fashion_mnist-s1: 1047 s + 740 s; causalib-authors-mnist-s0: 1844 s + 1373 s;
causalib-authors-fashion_mnist-s0: 1579 s + 976 s), a baseline shard 13-21 min (740 s + 76 s; FashionMNIST 695 s
+ 73 s; 1134 s + 118 s beside two other jobs). Run two workers (the second with `--reverse`) to use
both cores; on a GPU a shard takes minutes. On one thread, `strong`'s gradient attacks take about 10 min per model;
AutoAttack under 1 min on 1,000 images it breaks at once (10 min on all 10,000 of the authors' VIB at 50/255) and
23 min on 1,000 images of the authors' VIB at 16/255, most of which it cannot break.
"""
from __future__ import annotations

import argparse
import fcntl
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch

from . import paths
from .cache import CheckpointError, checkpoint_path, load_checkpoint, save_checkpoint
from .config import TrainConfig
from .data import always_dark_pixels, load_dataset
from .evaluate import ATTACK_KINDS, AttackSpec, authors_pgd_rows, authors_rows, mean_then_sample, robust_accuracy
from .models import eval_mode
from .results import git_commit
from .train import default_device, model_for, train

EPS_255 = (8, 16, 50)
SNAPSHOT_EPOCH = 4  # the quick profile's training length, evaluated on the seed-0 MNIST shards
VARIANTS = {
    "ours": {},
    "authors": dict(bottleneck="authors", train_samples=12),
    "alemi": dict(adam_beta1=0.5, lr_decay=0.97, ema_decay=0.999),
}
# Part 3, which part of the authors' bottleneck makes it robust: the authors' VIB without one part each.
ABLATIONS = {
    "authors_unit_input": dict(bottleneck="authors_unit_input", train_samples=12),
    "authors_linear_heads": dict(bottleneck="authors_linear_heads", train_samples=12),
    "authors_softplus_sigma": dict(bottleneck="authors_softplus_sigma", train_samples=12),
    "authors_1draw": dict(bottleneck="authors", train_samples=1),
}
VARIANTS |= ABLATIONS
# Part 4: input scaling on our models, and the mechanism tests on the plain baseline (`dark_bias_lr` is
# filled in per dataset by `Shard.config`).
VARIANTS |= {"signed": dict(signed_input=True), "signed_init": dict(first_layer_init="signed"), "dark_bias_lr": {}}
AUTHORS_BASELINE = dict(arch="authors_mlp", signed_input=True, double_softmax=True)  # their MLP.py
AUTHORS_CAUSAL = dict(causal_variant="authors", causal_norm="smooth_l1", beta=0.2)  # their w_reg = 0.2
CSV_COLUMNS = ["shard", "part", "method", "variant", "dataset", "seed", "epochs", "mode", "protocol", "attack",
               "kind", "eps_255", "steps", "eot", "loss", "accuracy", "n", "seconds", "train_seconds",
               "device", "device_name", "threads", "torch", "commit", "finished"]


@dataclass(frozen=True)
class Shard:
    method: str
    variant: str
    dataset: str
    seed: int
    part: str  # "1", "2", "3", "4" or "extra"

    @property
    def name(self) -> str:
        return f"{self.method}-{self.variant}-{self.dataset}-s{self.seed}"

    def config(self, epochs: int = 50, train_limit: int | None = None) -> TrainConfig:
        extra = dict(VARIANTS[self.variant])
        if self.variant == "authors" and self.method == "causalib":
            extra.update(AUTHORS_CAUSAL)
        if self.variant == "authors" and self.method == "baseline":
            extra = dict(AUTHORS_BASELINE)
        if self.variant == "dark_bias_lr":
            extra = dict(first_bias_lr_scale=float(1 + always_dark_pixels(self.dataset)))
        return TrainConfig(self.method, self.dataset, epochs=epochs, seed=self.seed, train_limit=train_limit,
                           **extra).resolved()


def all_shards() -> list[Shard]:
    """Every shard in the order `run` takes them: the authors' model and Alemi's optimiser on MNIST
    first (what the factor table needs), then part 1 by dataset and seed, the authors' model on
    FashionMNIST, the ablations of part 3, then the `extra` shards."""
    datasets = ("mnist", "fashion_mnist")
    out = [Shard("vib", "authors", "mnist", 0, "2"), Shard("causalib", "authors", "mnist", 0, "2"),
           Shard("vib", "alemi", "mnist", 0, "2")]
    for d in datasets:
        out += [Shard(m, "ours", d, s, "1") for s in (0, 1, 2) for m in ("baseline", "vib", "causalib")]
        if d == "mnist":
            out += [Shard("vib", "authors", "fashion_mnist", 0, "2"), Shard("causalib", "authors", "fashion_mnist", 0, "2")]
    out += [Shard("vib", v, "mnist", 0, "3") for v in ABLATIONS]
    out += part4_shards()
    out += [Shard(m, "ours", d, s, "extra") for d in datasets for m in ("mixup", "rs", "ciiv", "at_fgsm", "at_pgd")
            for s in (0, 1, 2)]
    return out


def part4_shards() -> list[Shard]:
    """Part 4 in the order `run` takes it: the cheap, decisive baselines first (the authors' baseline,
    ours with [-1, 1] inputs, the two mechanism tests), then VIB and CausalIB with [-1, 1] inputs."""
    first = [Shard("baseline", "authors", "mnist", 0, "4"), Shard("baseline", "signed", "mnist", 0, "4"),
             Shard("baseline", "signed_init", "mnist", 0, "4"), Shard("baseline", "dark_bias_lr", "mnist", 0, "4"),
             Shard("baseline", "authors", "fashion_mnist", 0, "4"), Shard("baseline", "signed", "fashion_mnist", 0, "4")]
    rest = [Shard(m, "signed", "mnist", 0, "4") for m in ("vib", "causalib")]
    rest += [Shard("baseline", "authors", d, s, "4") for d in ("mnist", "fashion_mnist") for s in (1, 2)]
    rest += [Shard("baseline", "signed", "mnist", s, "4") for s in (1, 2)]
    rest += [Shard(m, "signed", "fashion_mnist", 0, "4") for m in ("vib", "causalib")]
    rest += [Shard(m, "signed", "mnist", s, "4") for s in (1, 2) for m in ("vib", "causalib")]
    return first + rest


def shards_named(names: list[str]) -> list[Shard]:
    """The shards with these names (from `status --all`); an error naming the unknown ones."""
    by_name = {s.name: s for s in all_shards()}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise ValueError(f"Unknown shard(s) {', '.join(unknown)}; `python -m cibtools.paper_settings status --all` "
                         f"lists the names.")
    return [by_name[n] for n in names]


def default_csv() -> Path:
    """`results/paper_settings/table1.csv` (env `CIB_PAPER_SETTINGS_CSV` moves it)."""
    value = os.environ.get("CIB_PAPER_SETTINGS_CSV")
    return Path(value) if value else paths.REPO_ROOT / "results" / "paper_settings" / "table1.csv"


def read_rows(csv: Path | None = None) -> pd.DataFrame:
    """The committed rows (an empty frame with the columns when the file does not exist yet)."""
    return _read_checked(Path(csv) if csv is not None else default_csv(), CSV_COLUMNS)


def _read_checked(csv: Path, columns: list[str], raw: bool = False) -> pd.DataFrame:
    """`csv` (empty with `columns` when it does not exist yet); an error if it lacks any of `columns`.
    `raw`: every value as the text in the file (no type inference)."""
    if not csv.exists():
        return pd.DataFrame(columns=columns)
    try:
        rows = pd.read_csv(csv, dtype=str, keep_default_na=False) if raw else pd.read_csv(csv)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as err:
        raise ValueError(f"{csv} cannot be read as a table ({type(err).__name__}: {err}): restore it with "
                         f"`git checkout -- {csv}`, or delete it if nothing in it is committed.") from None
    missing = set(columns) - set(rows.columns)
    if missing:
        raise ValueError(f"{csv} lacks the columns {sorted(missing)}: it is not the table this command writes "
                         f"(restore it with `git checkout -- {csv}`).")
    return rows


def done_shards(csv: Path | None = None) -> set[str]:
    return set(read_rows(csv)["shard"].unique())


def append_rows(rows: pd.DataFrame, csv: Path, columns: list[str] = CSV_COLUMNS,
                key: tuple[str, ...] = ("shard",)) -> bool:
    """Append one shard's `columns` of `rows` to `csv` under a lock, atomically (the old bytes and the new
    lines written to a temporary file, renamed); rows already there are copied byte for byte, never
    re-read and rewritten. False (nothing written) if a row with the same `key` values (by default: that
    shard's) is already there."""
    csv.parent.mkdir(parents=True, exist_ok=True)
    with open(csv.with_name(csv.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        old = _read_checked(csv, columns, raw=True)
        keys = list(key)
        new = rows[columns]
        if set(map(tuple, new[keys].astype(str).values)) & set(map(tuple, old[keys].values)):
            return False
        if len(old) and list(old.columns) != list(columns):
            raise ValueError(f"{csv} has the columns {list(old.columns)}, not {columns}: rows cannot be appended.")
        head = csv.read_bytes() if csv.exists() else b""
        if head and not head.endswith(b"\n"):
            raise ValueError(f"{csv} ends in the middle of a line (a write was cut): restore it with "
                             f"`git checkout -- {csv}` before appending.")
        text = new.to_csv(index=False, header=not head, lineterminator="\n").encode()
        tmp = csv.with_name(csv.name + ".tmp")
        tmp.write_bytes(head + text)
        tmp.replace(csv)
    return True


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{platform.machine()} CPU, {os.cpu_count()} cores"


def evaluate_model(model, shard: Shard, test, eps_255=EPS_255) -> pd.DataFrame:
    """All rows of one trained model (see the module docstring), with mode and protocol columns."""
    eps = [e / 255 for e in eps_255]
    frames = [mean_then_sample(model, test, eps, method=shard.method).assign(protocol="sound")]
    if model.stochastic:
        frames.append(authors_rows(model, test, eps, method=shard.method))
    frames.append(authors_pgd_rows(model, test, eps, method=shard.method))
    return pd.concat(frames, ignore_index=True)


def run_shard(shard: Shard, csv: Path | None = None, device: torch.device | str | None = None,
              epochs: int = 50, train_limit: int | None = None, test_limit: int | None = None,
              cache: Path | None = None, progress: bool = False) -> pd.DataFrame | None:
    """Train (or resume) and evaluate one shard and append its rows; None if its rows are present."""
    csv = Path(csv) if csv is not None else default_csv()
    if shard.name in done_shards(csv):
        return None
    device = torch.device(device) if device is not None else default_device()
    cfg = shard.config(epochs, train_limit)
    cache = Path(cache) if cache is not None else paths.cache_dir()
    if test_limit is not None and test_limit < 1:
        raise ValueError(f"test_limit must be at least 1 image (or None for all 10,000), got {test_limit}.")
    state = cache / "paper_settings" / f"{shard.name}-{cfg.key()}.state.pt"
    try:
        state.parent.mkdir(parents=True, exist_ok=True)
        checkpoint_path(cfg, cache).parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"The checkpoint cache {cache} cannot be written ({err}): set CIB_CACHE_DIR to a writable "
                         f"folder before training, so that the trained model is kept.") from None
    for table, columns in ((csv, CSV_COLUMNS), (csv.with_name("scales.csv"), SCALE_COLUMNS)):
        _read_checked(table, columns)  # a damaged table is found now, not after an hour of training
    with open(state.with_name(state.name + ".lock"), "w") as lock:
        try:  # one worker per shard: a second one skips it instead of training it twice
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"{shard.name}: another worker is running it, skipped", flush=True)
            return None
        return _train_and_evaluate(shard, cfg, csv, device, state, epochs, test_limit, cache, progress)


def _train_and_evaluate(shard: Shard, cfg: TrainConfig, csv: Path, device: torch.device, state: Path, epochs: int,
                        test_limit: int | None, cache: Path, progress: bool) -> pd.DataFrame | None:
    if shard.name in done_shards(csv):  # finished by another worker while we waited
        return None
    snap = ((SNAPSHOT_EPOCH,) if shard.dataset == "mnist" and shard.seed == 0 and shard.part in ("1", "2")
            and epochs > SNAPSHOT_EPOCH else ())
    result = train(cfg, device=device, progress=progress, state_path=state, snapshot_epochs=snap)
    save_checkpoint(result, checkpoint_path(cfg, cache))  # later notebooks can load it (profile `paper`)
    start = time.perf_counter()
    torch.manual_seed(1000 + shard.seed)
    test = load_dataset(shard.dataset, "test", device=device, limit=test_limit)
    frames = [evaluate_model(result.model, shard, test).assign(epochs=len(result.history))]
    if snap and result.model.stochastic:
        early = model_for(cfg).to(device)
        early.load_state_dict(result.snapshots[SNAPSHOT_EPOCH])
        early.eval()
        frames.append(evaluate_model(early, shard, test, eps_255=(50,)).assign(epochs=SNAPSHOT_EPOCH))
    rows = pd.concat(frames, ignore_index=True)
    rows = rows.assign(
        shard=shard.name, part=shard.part, variant=shard.variant, seed=shard.seed,
        train_seconds=round(result.train_seconds, 1), device=str(device), device_name=_device_name(device),
        threads=torch.get_num_threads(), torch=str(torch.__version__), commit=git_commit(),
        finished=time.strftime("%Y-%m-%d %H:%M:%S"),
        mode=rows["mode"].str.replace(r"sample \(S=\d+\)", "sample", regex=True),
    )
    append_rows(rows, csv)  # the main rows first: a side table's failure never loses them
    state.unlink(missing_ok=True)
    if shard.method in ("vib", "causalib"):  # the noise it learned, while its weights are at hand
        try:
            append_rows(noise_scales(result.model, shard, test, len(result.history)), csv.with_name("scales.csv"),
                        SCALE_COLUMNS)
        except (OSError, ValueError) as err:
            print(f"{shard.name}: its rows are written, but scales.csv was not ({err}); "
                  f"`python -m cibtools.paper_settings scales` adds it later.", file=sys.stderr, flush=True)
    print(f"{shard.name}: trained {result.train_seconds:.0f} s, evaluated {time.perf_counter() - start:.0f} s, "
          f"{len(rows)} rows -> {csv}", flush=True)
    return rows


def finished_model(shard: Shard | str, device: torch.device | str | None = None, cache: Path | None = None):
    """(model in eval mode, its config, the device) of a finished shard (or its name), from the
    checkpoint cache, e.g. `model, cfg, device = finished_model("vib-authors-mnist-s0")`."""
    shard = shards_named([shard])[0] if isinstance(shard, str) else shard
    device = torch.device(device) if device is not None else default_device()
    cfg = shard.config()
    path = checkpoint_path(cfg, Path(cache) if cache is not None else None)
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run the shard first (`run {shard.name}`).")
    return load_checkpoint(path, cfg, device).model.eval(), cfg, device


def strong_csv() -> Path:
    """`results/paper_settings/strong.csv`: the stronger attacks on the shards that look robust."""
    return default_csv().with_name("strong.csv")


AA_IMAGES = 1000  # AutoAttack's share of the test set in `strong` (on images it does not break at once it is slow)


def strong_specs(eps: float = 50 / 255) -> list[AttackSpec]:
    """Attacks that a robust-looking model must also survive: CW-loss PGD-20 and PGD-100 (the margin loss
    does not saturate as cross-entropy can), PGD-20 with 5 restarts, unbounded PGD-20 (eps = 1: any valid
    model falls to chance or below, Sec. 4.6 check 4), and AutoAttack `standard` (APGD-CE, APGD-T, FAB-T
    and the gradient-free Square attack, which a masked gradient cannot stop)."""
    return [AttackSpec("clean"), AttackSpec("cw", eps, steps=20), AttackSpec("cw", eps, steps=100),
            AttackSpec("pgd", eps, steps=20, restarts=5), AttackSpec("pgd", 1.0, steps=20),
            AttackSpec("autoattack", eps)]


def run_strong(shard: Shard, csv: Path | None = None, device: torch.device | str | None = None,
               test_limit: int | None = None, cache: Path | None = None,
               aa_images: int = AA_IMAGES, eps_255: float = 50, kinds: tuple[str, ...] | None = None,
               ) -> pd.DataFrame | None:
    """The stronger attacks of `strong_specs(eps_255 / 255)` (those of `kinds` only, if given) on a finished
    shard's 50-epoch model (`mean` prediction; EOT is not needed for a deterministic prediction) that
    `strong.csv` lacks for it at that budget on as many images, appended there; None if all are present.
    AutoAttack runs on the first `aa_images` images of the same fixed test subset (0 leaves it out; a larger
    number adds a row with the larger `n`), the others on all of it."""
    csv = Path(csv) if csv is not None else strong_csv()
    device = torch.device(device) if device is not None else default_device()
    torch.manual_seed(2000 + shard.seed)
    test = load_dataset(shard.dataset, "test", device=device, limit=test_limit)
    old = _read_checked(csv, STRONG_COLUMNS)
    mine = old[old["shard"] == shard.name]
    have = set(zip(mine["attack"], mine["eps_255"], mine["n"]))
    plan = {}  # the data each missing attack runs on
    for spec in strong_specs(eps_255 / 255):
        data = test.head(aa_images) if spec.kind == "autoattack" else test
        if kinds is not None and spec.kind not in kinds:
            continue
        if len(data) and (spec.label, round(spec.eps * 255, 2), len(data)) not in have:
            plan.setdefault(len(data), (data, []))[1].append(spec)
    if not plan:
        return None
    model, cfg, device = finished_model(shard, device, cache)
    with model.prediction("mean"):
        rows = pd.concat([robust_accuracy(model, data, specs, method=shard.method, protocol="strong")
                          for data, specs in plan.values()], ignore_index=True)
    rows = rows.assign(shard=shard.name, variant=shard.variant, seed=shard.seed, epochs=cfg.epochs,
                       device=str(device), device_name=_device_name(device), threads=torch.get_num_threads(),
                       commit=git_commit(), finished=time.strftime("%Y-%m-%d %H:%M:%S"))
    append_rows(rows, csv, STRONG_COLUMNS, key=("shard", "attack", "eps_255", "n"))
    return rows


STRONG_COLUMNS = ["shard", "method", "variant", "dataset", "seed", "epochs", "mode", "attack", "kind", "loss", "eps_255",
                  "steps", "restarts", "accuracy", "n", "seconds", "device", "device_name", "threads", "commit", "finished"]


def scales_csv() -> Path:
    """`results/paper_settings/scales.csv`: the noise scale each finished VIB-type model learned (written
    by every VIB/CausalIB shard as it finishes; `scales` adds older shards whose checkpoints are here)."""
    return default_csv().with_name("scales.csv")


SCALE_COLUMNS = ["shard", "method", "variant", "dataset", "seed", "epochs", "n", "sigma_mean", "sigma_median",
                 "mu_sd", "snr", "device", "commit", "finished"]


def run_scales(shard: Shard, csv: Path | None = None, device: torch.device | str | None = None,
               test_limit: int | None = None, cache: Path | None = None) -> pd.DataFrame | None:
    """How noisy a finished VIB/CausalIB shard's bottleneck is on the test images: the mean and median
    |sigma| over images and dimensions, the spread of mu (its sd over images, averaged over dimensions)
    and their ratio `snr` = mu_sd / sigma_mean, appended to `scales.csv`; None if present."""
    csv = Path(csv) if csv is not None else scales_csv()
    if csv.exists() and shard.name in set(pd.read_csv(csv)["shard"]):
        return None
    model, cfg, device = finished_model(shard, device, cache)
    rows = noise_scales(model, shard, load_dataset(shard.dataset, "test", device=device, limit=test_limit), cfg.epochs)
    append_rows(rows, csv, SCALE_COLUMNS)
    return rows


def noise_scales(model, shard: Shard, test, epochs: int) -> pd.DataFrame:
    """One `scales.csv` row (see `run_scales`) of a VIB-type `model` on the images of `test`."""
    with torch.no_grad(), eval_mode(model):
        stats = [model.head.stats(model.encoder(x)) for x in test.images.split(1000)]
    mu, sigma = (torch.cat(t) for t in zip(*stats))
    sigma_mean, mu_sd = float(sigma.abs().mean()), float(mu.std(0).mean())
    return pd.DataFrame([{
        "shard": shard.name, "method": shard.method, "variant": shard.variant, "dataset": shard.dataset,
        "seed": shard.seed, "epochs": epochs, "n": len(test), "sigma_mean": sigma_mean,
        "sigma_median": float(sigma.abs().median()), "mu_sd": mu_sd, "snr": mu_sd / sigma_mean,
        "device": _device_name(test.images.device), "commit": git_commit(),
        "finished": time.strftime("%Y-%m-%d %H:%M:%S")}])


def status(csv: Path | None = None, include_extra: bool = False) -> pd.DataFrame:
    """One line per shard: index, name, part, done or not, and for done ones their time and device."""
    rows = read_rows(csv)
    lines = []
    for i, s in enumerate(all_shards()):
        if s.part == "extra" and not include_extra:
            continue
        mine = rows[rows["shard"] == s.name]
        lines.append({"index": i, "shard": s.name, "part": s.part, "done": len(mine) > 0,
                      "train_s": float(mine["train_seconds"].iloc[0]) if len(mine) else None,
                      "eval_s": float(mine["seconds"].sum()) if len(mine) else None,
                      "device": mine["device_name"].iloc[0] if len(mine) else ""})
    return pd.DataFrame(lines)


def _select(args, named: list[Shard], device: torch.device) -> list[Shard]:
    shards = all_shards()
    if args.index is not None:
        if not 0 <= args.index < len(shards):
            raise SystemExit(f"--index must be in 0..{len(shards) - 1}; `status --all` lists the shards.")
        return [shards[args.index]]
    if named:
        return named
    chosen = [s for s in shards if s.part != "extra" or device.type == "cuda"]
    return chosen[::-1] if args.reverse else chosen


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cibtools.paper_settings",
                                     description="Table 1 at the paper's settings, in resumable shards.")
    sub = parser.add_subparsers(dest="command", required=True)
    st = sub.add_parser("status", help="list the shards, done and missing")
    st.add_argument("--all", action="store_true", help="also the GPU-only `extra` shards")
    strong = sub.add_parser("strong", help="stronger attacks on finished shards (rows to strong.csv)")
    strong.add_argument("shards", nargs="+", help="names of finished shards")
    strong.add_argument("--threads", type=int, help="torch threads (default: torch's own)")
    strong.add_argument("--eps-255", type=float, default=50, help="the budget in 1/255 (default 50, the paper's)")
    strong.add_argument("--kinds", nargs="+", choices=ATTACK_KINDS, help="only these attacks (e.g. autoattack)")
    strong.add_argument("--aa-images", type=int, default=AA_IMAGES,
                        help=f"test images for AutoAttack (default {AA_IMAGES}; 10000: all of them; 0: none)")
    scales = sub.add_parser("scales", help="the noise scale of every finished VIB-type shard whose checkpoint is "
                                           "here (rows to scales.csv)")
    scales.add_argument("--threads", type=int, help="torch threads (default: torch's own)")
    run = sub.add_parser("run", help="run the named shards, or every missing one")
    run.add_argument("shards", nargs="*", help="shard names (default: every missing shard)")
    run.add_argument("--index", type=int, help="the shard at this index of `status --all` (job arrays)")
    run.add_argument("--reverse", action="store_true", help="take the missing shards from the end (a second worker)")
    run.add_argument("--threads", type=int, help="torch threads (default: torch's own)")
    run.add_argument("--device", help="cpu or cuda (default: cuda when present)")
    for p in (st, run):
        p.add_argument("--csv", type=Path, default=None, help="the rows file (default results/paper_settings/table1.csv)")
    run.add_argument("--epochs", type=int, default=50, help="training epochs (50: the paper; less only for tests)")
    run.add_argument("--train-limit", type=int, default=None, help="training images (tests only)")
    run.add_argument("--test-limit", type=int, default=None, help="test images (tests only)")
    args = parser.parse_args(argv)
    try:
        named = shards_named(getattr(args, "shards", None) or [])
    except ValueError as err:
        raise SystemExit(str(err)) from None
    if args.command == "status":
        table = status(args.csv, include_extra=args.all)
        print(table.to_string(index=False))
        print(f"{int(table['done'].sum())} of {len(table)} shards done")
        return
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.command == "scales":
        done = done_shards()
        for shard in all_shards():
            if shard.name not in done or shard.method not in ("vib", "causalib"):
                continue
            try:
                rows = run_scales(shard)
            except (FileNotFoundError, CheckpointError) as err:
                print(f"{shard.name}: skipped, {err}", flush=True)
                continue
            print(f"{shard.name}: " + ("rows present, skipped" if rows is None else
                  f"|sigma| {rows['sigma_mean'].item():.3f}, sd(mu) {rows['mu_sd'].item():.3f}"), flush=True)
        return
    if args.command == "strong":
        for shard in named:
            rows = run_strong(shard, aa_images=args.aa_images, eps_255=args.eps_255,
                              kinds=tuple(args.kinds) if args.kinds else None)
            print(f"{shard.name}: " + ("rows present, skipped" if rows is None else
                  ", ".join(f"{a} {v:.2f}%" for a, v in zip(rows["attack"], rows["accuracy"]))), flush=True)
        return
    if (args.epochs != 50 or args.train_limit or args.test_limit) and args.csv is None:
        raise SystemExit("A reduced run (--epochs/--train-limit/--test-limit) must write elsewhere: give --csv.")
    device = torch.device(args.device) if args.device else default_device()
    for shard in _select(args, named, device):
        if run_shard(shard, args.csv, device, args.epochs, args.train_limit, args.test_limit) is None:
            print(f"{shard.name}: rows present, skipped", flush=True)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("Interrupted: the shard's rows were not written; its training resumes from the last saved epoch.")
