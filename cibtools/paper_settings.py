"""Table 1 at the paper's own settings (50 epochs, batch 100, seeds 0-2, all 10,000 test images), in
resumable shards, each of which writes its rows to a file of its own under `results/paper_settings/`.

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
(the factor "4 vs 50 epochs"). Only then does it write its rows, all at once, so an interrupted shard
leaves no rows; a shard whose rows are present is skipped. Every file it would write, and the cache, is
checked before it trains.

Rows: one file per writer, none shared, none ever rewritten (`cibtools.rows`: a temporary name, then a
link to the final name, which fails if the file is there), so workers on a cluster file system that
ignores locks cannot cut or double a row:
    results/paper_settings/shards/<shard>.csv          every row of one finished shard
    results/paper_settings/strong/<shard>--<tag>.csv   the rows of one `strong` call (tag: from their keys)
    results/paper_settings/scales/<shard>.csv          the noise scales of one VIB-type shard
`read_rows`, `read_strong`, `read_scales` (and `status`, `verdict_rows`, notebook 11) read these files and refuse,
naming the file and line, an empty or cut file, a row with missing fields, a row naming another shard than
its file, and a row present twice. The shared `table1.csv`, `strong.csv` and `scales.csv` of before are
gone (their rows were moved without changing a character; `tests/data/paper_settings_before/` keeps the
old files, and a test compares every value): `view table1` prints the combined table, generated from
the files and sorted by when each was written, and a rows folder that still holds an old shared file is
refused until `import-rows` has moved its rows (idempotent; a shard present with other rows is refused).

    python -m cibtools.paper_settings status             # what is done, what is left
    python -m cibtools.paper_settings run                # every missing shard, in order
    python -m cibtools.paper_settings run vib-ours-mnist-s1   # one shard (names from `status`)
    python -m cibtools.paper_settings strong vib-authors-mnist-s0  # stronger attacks on a robust-looking one
    python -m cibtools.paper_settings strong vib-ours-mnist-s0 --eps-255 16 --kinds autoattack  # one, elsewhere
    # a new machine lost the checkpoint: train it again (checked against its rows), then the authors' PGD on it
    python -m cibtools.paper_settings strong vib-authors-mnist-s0 --eps-255 16 --kinds authors_pgd --retrain-missing
    python -m cibtools.paper_settings scales             # the noise scale each finished VIB-type model learned
    python -m cibtools.paper_settings view table1 > t.csv  # all shards' rows as one table (or strong, scales)
    python -m cibtools.paper_settings import-rows old/table1.csv --strong old/strong.csv --scales old/scales.csv
    # more than one machine: each missing shard as one job of a job array, through submitit
    python -m cibtools.paper_settings submit --executor local --parallel 2          # a laptop: two 1-CPU jobs
    python -m cibtools.paper_settings submit --executor local --gpus 1 --parallel 1 # a workstation with a GPU
    python -m cibtools.paper_settings submit --executor slurm --cpus 4 --gpus 1 --hours 2 --partition gpu

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
import contextlib
import fcntl
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from . import paths
from . import rows as rows_store
from .cache import CheckpointError, checkpoint_path, load_checkpoint, save_checkpoint
from .config import TrainConfig
from .data import always_dark_pixels, load_dataset
from .evaluate import ATTACK_KINDS, AttackSpec, authors_pgd, authors_pgd_rows, authors_rows, mean_then_sample, robust_accuracy
from .models import eval_mode
from . import scheduler
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
VARIANTS |= {"signed": dict(signed_input=True), "signed_init": dict(first_layer_init="signed"), "dark_bias_lr": {},
             "doubled": dict(input_map="doubled"), "shifted": dict(input_map="shifted")}
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
    ours with [-1, 1] inputs, the two mechanism tests), then VIB and CausalIB with [-1, 1] inputs, then the two
    halves of the rescaling (x * 2 alone, x - 1 alone; added later, so last)."""
    first = [Shard("baseline", "authors", "mnist", 0, "4"), Shard("baseline", "signed", "mnist", 0, "4"),
             Shard("baseline", "signed_init", "mnist", 0, "4"), Shard("baseline", "dark_bias_lr", "mnist", 0, "4"),
             Shard("baseline", "authors", "fashion_mnist", 0, "4"), Shard("baseline", "signed", "fashion_mnist", 0, "4")]
    rest = [Shard(m, "signed", "mnist", 0, "4") for m in ("vib", "causalib")]
    rest += [Shard("baseline", "authors", d, s, "4") for d in ("mnist", "fashion_mnist") for s in (1, 2)]
    rest += [Shard("baseline", "signed", "mnist", s, "4") for s in (1, 2)]
    rest += [Shard(m, "signed", "fashion_mnist", 0, "4") for m in ("vib", "causalib")]
    rest += [Shard(m, "signed", "mnist", s, "4") for s in (1, 2) for m in ("vib", "causalib")]
    rest += [Shard("baseline", v, "mnist", 0, "4") for v in ("doubled", "shifted")]  # which half of x * 2 - 1
    return first + rest


def shards_named(names: list[str]) -> list[Shard]:
    """The shards with these names (from `status --all`); an error naming the unknown ones."""
    by_name = {s.name: s for s in all_shards()}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise ValueError(f"Unknown shard(s) {', '.join(unknown)}; `python -m cibtools.paper_settings status --all` "
                         f"lists the names.")
    return [by_name[n] for n in names]


def default_dir() -> Path:
    """`results/paper_settings/`, the folder of the rows files (env `CIB_PAPER_SETTINGS_DIR` moves it)."""
    value = os.environ.get("CIB_PAPER_SETTINGS_DIR")
    return Path(value) if value else paths.REPO_ROOT / "results" / "paper_settings"


TABLE1 = rows_store.Table("table1", "shards", tuple(CSV_COLUMNS), key=("shard", "epochs", "mode", "protocol", "attack",
                                                                       "eps_255"),
                          numbers={"seed": int, "epochs": int, "eps_255": float, "steps": int, "eot": int,
                                   "accuracy": float, "n": int, "seconds": float, "train_seconds": float,
                                   "threads": int})
STRONG_COLUMNS = ["shard", "method", "variant", "dataset", "seed", "epochs", "mode", "attack", "kind", "loss", "eps_255",
                  "steps", "restarts", "accuracy", "n", "seconds", "device", "device_name", "threads", "commit", "finished"]
STRONG = rows_store.Table("strong", "strong", tuple(STRONG_COLUMNS), key=("shard", "attack", "eps_255", "n"),
                          numbers={"seed": int, "epochs": int, "eps_255": float, "steps": int, "restarts": int,
                                   "accuracy": float, "n": int, "seconds": float, "threads": int}, per_file="call")
SCALE_COLUMNS = ["shard", "method", "variant", "dataset", "seed", "epochs", "n", "sigma_mean", "sigma_median",
                 "mu_sd", "snr", "device", "commit", "finished"]
SCALES = rows_store.Table("scales", "scales", tuple(SCALE_COLUMNS), key=("shard",),
                          numbers={"seed": int, "epochs": int, "n": int, "sigma_mean": float, "sigma_median": float,
                                   "mu_sd": float, "snr": float})
TABLES = {t.name: t for t in (TABLE1, STRONG, SCALES)}
SHARED_FILES = ("table1.csv", "strong.csv", "scales.csv")  # the shared files of before, refused where found


def _root(root: Path | str | None) -> Path:
    """The rows folder (default `default_dir()`), refused while it still holds one of the old shared files."""
    root = Path(root) if root is not None else default_dir()
    for name in SHARED_FILES:
        old = root / name
        if old.exists():
            raise rows_store.RowsError(
                f"{old} is a shared rows file of the old layout, which this version no longer reads: "
                f"`python -m cibtools.paper_settings import-rows {old}` moves its rows into one file per shard "
                f"(refusing a shard present with other rows), then delete {old}.")
    return root


def read_rows(root: Path | str | None = None) -> pd.DataFrame:
    """Every shard's rows (`<root>/shards/<shard>.csv`, default `default_dir()`), checked: a damaged, cut or
    duplicated file raises `rows.RowsError` naming it; in the order the shards finished."""
    return rows_store.read(TABLE1, _root(root))


def _mode_names(modes: pd.Series) -> pd.Series:
    """Prediction modes as the rows name them: `sample (S=12)` is `sample`."""
    return modes.str.replace(r"sample \(S=\d+\)", "sample", regex=True)


def verdict_rows(root: Path | str | None = None) -> pd.DataFrame:
    """The rows the verdict reads: every shard's rows, and the authors' PGD rows that `strong` added to shards
    finished before it existed (protocol `authors_pgd`, as a shard of part 4 writes them), so that the factor
    table and the closest combinations count them too."""
    rows = read_rows(root)
    strong = read_strong(root)
    theirs = strong[strong["kind"] == "authors_pgd"]
    if not len(theirs):
        return rows
    part = {s.name: s.part for s in all_shards()}
    theirs = theirs.assign(part=theirs["shard"].map(part), protocol="authors_pgd", eot=1, mode=_mode_names(theirs["mode"]))
    return pd.concat([rows, theirs.reindex(columns=rows.columns)], ignore_index=True)


def done_shards(root: Path | str | None = None) -> set[str]:
    """The shards whose rows file is there (and every rows file passes its checks)."""
    return set(read_rows(root)["shard"])


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


class ShardBusy(RuntimeError):
    """Another worker holds the shard's lock (it is training it now)."""


def check_device(device: torch.device | str | None) -> torch.device:
    """`device` as a torch device (None: CUDA when present, else the CPU); a ValueError naming the valid ones
    for an unknown name or a CUDA device this machine does not have."""
    if device is None:
        return default_device()
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"Unknown device {device!r}: use cpu, cuda or cuda:N (N an index below "
                         f"{torch.cuda.device_count()} here).") from None
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"Device {device!r} is not one this command runs on: use cpu, cuda or cuda:N.")
    if dev.type == "cuda" and (not torch.cuda.is_available() or (dev.index or 0) >= torch.cuda.device_count()):
        raise ValueError(f"Device {device!r}: this machine has {torch.cuda.device_count()} CUDA device(s); use cpu"
                         f"{' or cuda:0..' + str(torch.cuda.device_count() - 1) if torch.cuda.is_available() else ''}.")
    return dev


def _check_writable(folder: Path, what: str) -> None:
    """Create `folder` and a file in it (then remove it), or a ValueError saying what cannot be kept."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".probe.{os.getpid()}.{os.urandom(4).hex()}.tmp"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise ValueError(f"{folder} cannot be written ({type(err).__name__}: {err}): {what}") from None


def _check_state(state: Path) -> None:
    """A resume state that cannot be read is refused before any work, with the one safe fix."""
    if not state.exists():
        return
    try:
        payload = torch.load(state, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unreadable file gets the same advice
        raise ValueError(f"The resume state {state} is damaged ({type(err).__name__}): delete it; the shard then "
                         f"trains from its first epoch (finished checkpoints and rows are not affected).") from None
    if not isinstance(payload, dict) or not {"config", "model", "optimizer", "history"} <= set(payload):
        raise ValueError(f"The resume state {state} is not one this command writes: delete it; the shard then "
                         f"trains from its first epoch.")


def run_shard(shard: Shard, rows_dir: Path | str | None = None, device: torch.device | str | None = None,
              epochs: int = 50, train_limit: int | None = None, test_limit: int | None = None,
              cache: Path | None = None, progress: bool = False) -> pd.DataFrame | None:
    """Train (or resume) and evaluate one shard and write its rows file (`<rows_dir>/shards/<shard>.csv`);
    None if its rows are there. `ShardBusy` if another worker is running it. Everything that could fail
    after training is checked first: the rows and scales files, the folders and the cache."""
    root = Path(rows_dir) if rows_dir is not None else default_dir()
    _check_writable(root / TABLE1.folder, "the shard's rows would be lost: give a writable rows folder.")
    if shard.name in done_shards(root):
        return None
    read_scales(root)  # a damaged side table is found now, not after an hour of training
    _check_writable(root / SCALES.folder, "give a writable rows folder.")
    device = check_device(device)
    cfg = shard.config(epochs, train_limit)
    cache = Path(cache) if cache is not None else paths.cache_dir()
    if test_limit is not None and (isinstance(test_limit, bool) or not isinstance(test_limit, int) or test_limit < 1):
        raise ValueError(f"test_limit must be an integer >= 1 (or None for all 10,000 images), got {test_limit!r}.")
    state = _state_path(shard, cfg, cache)
    with _shard_lock(shard, state):
        return _train_and_evaluate(shard, cfg, root, device, state, epochs, test_limit, cache, progress)


def _state_path(shard: Shard, cfg: TrainConfig, cache: Path) -> Path:
    """Where training a shard's model keeps its resume state (epoch by epoch), checked before any training: its
    folder and the checkpoint's can be written, and a resume state already there can be read."""
    state = cache / "paper_settings" / f"{shard.name}-{cfg.key()}.state.pt"
    for folder in (state.parent, checkpoint_path(cfg, cache).parent):
        _check_writable(folder, "set CIB_CACHE_DIR to a writable folder before training, so that the trained model "
                                "is kept.")
    _check_state(state)
    return state


@contextlib.contextmanager
def _shard_lock(shard: Shard, state: Path):
    """One worker per shard: a second one gets `ShardBusy` instead of training it twice."""
    with open(state.with_name(state.name + ".lock"), "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ShardBusy(f"{shard.name}: another worker is running it (it holds {lock.name}).") from None
        yield


def _train_and_evaluate(shard: Shard, cfg: TrainConfig, root: Path, device: torch.device, state: Path, epochs: int,
                        test_limit: int | None, cache: Path, progress: bool) -> pd.DataFrame | None:
    if shard.name in done_shards(root):  # finished by another worker while we waited
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
        mode=_mode_names(rows["mode"]),
    )
    # the main rows first: a side table's failure never loses them
    path = rows_store.write_once(TABLE1, root, shard.name, rows_store.frame_text(TABLE1, rows))
    state.unlink(missing_ok=True)
    if path is None:
        print(f"{shard.name}: another worker wrote its rows first; these are not kept.", file=sys.stderr, flush=True)
        return None
    if shard.method in ("vib", "causalib"):  # the noise it learned, while its weights are at hand
        try:
            scales = noise_scales(result.model, shard, test, len(result.history))
            if rows_store.write_once(SCALES, root, shard.name, rows_store.frame_text(SCALES, scales)) is None:
                raise ValueError(f"{root / SCALES.folder / (shard.name + '.csv')} is already there")
        except (OSError, ValueError, RuntimeError) as err:
            print(f"{shard.name}: its rows are written, but its noise scales were not ({err}); "
                  f"`python -m cibtools.paper_settings scales` adds them later.", file=sys.stderr, flush=True)
    print(f"{shard.name}: trained {result.train_seconds:.0f} s, evaluated {time.perf_counter() - start:.0f} s, "
          f"{len(rows)} rows -> {path}", flush=True)
    return rows


def finished_model(shard: Shard | str, device: torch.device | str | None = None, cache: Path | None = None):
    """(model in eval mode, its config, the device) of a finished shard (or its name), from the
    checkpoint cache, e.g. `model, cfg, device = finished_model("vib-authors-mnist-s0")`."""
    shard = shards_named([shard])[0] if isinstance(shard, str) else shard
    device = check_device(device)
    cfg = shard.config()
    path = checkpoint_path(cfg, Path(cache) if cache is not None else None)
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run the shard first (`run {shard.name}`).")
    return load_checkpoint(path, cfg, device).model.eval(), cfg, device


RETRAIN_TOLERANCE = 0.005  # accuracy points: less than one of the 10,000 test images


def _recorded_clean(shard: Shard, root: Path, cfg: TrainConfig) -> pd.Series:
    """The shard's clean row (sound protocol, mean or deterministic prediction, at the config's epochs)."""
    mine = read_rows(root)
    mine = mine[mine["shard"] == shard.name]
    recorded = mine[(mine["attack"] == "clean") & (mine["protocol"] == "sound") & (mine["epochs"] == cfg.epochs)
                    & mine["mode"].isin(["mean", "deterministic"])]
    if len(recorded) != 1:
        raise ValueError(f"{shard.name} has {len(recorded)} clean rows at {cfg.epochs} epochs in {root} (1 expected): "
                         f"run the shard first (`run {shard.name}`).")
    return recorded.iloc[0]


def _finished(shard: Shard | str, rows_dir: Path | str | None, cache: Path | None
              ) -> tuple[Shard, TrainConfig, pd.Series, Path]:
    """A finished shard (or its name), its config, the clean row it recorded and its checkpoint's path."""
    shard = shards_named([shard])[0] if isinstance(shard, str) else shard
    root = Path(rows_dir) if rows_dir is not None else default_dir()
    cfg = shard.config()
    return shard, cfg, _recorded_clean(shard, root, cfg), checkpoint_path(cfg, cache)


def _check_against_rows(shard: Shard, model, path: Path, recorded: pd.Series, device: torch.device,
                        advice: str) -> None:
    """The one check that a checkpoint is its shard's model: the clean accuracy its rows recorded (mean prediction,
    the rows' test images) to within one image. Otherwise the file is set aside (`_set_aside`) and a ValueError
    says what differs, followed by `advice`: rows added with it would describe another model."""
    torch.manual_seed(1000 + shard.seed)
    test = load_dataset(shard.dataset, "test", device=device, limit=int(recorded["n"]))
    with model.prediction("mean"), eval_mode(model):
        clean = robust_accuracy(model, test, [AttackSpec("clean")])["accuracy"].item()
    if abs(clean - float(recorded["accuracy"])) > RETRAIN_TOLERANCE:
        aside = _set_aside(path)
        raise ValueError(f"{shard.name}: {path.name} is not the model of its rows (clean {clean:.2f}% against "
                         f"{float(recorded['accuracy']):.2f}% recorded, commit {recorded['commit']}); it is kept aside "
                         f"as {aside}. {advice}")


def _set_aside(path: Path) -> Path:
    """Rename a checkpoint that is not its shard's model to `*.differs.pt` (`*.differs-2.pt`, ... when taken), so
    that nothing trained is overwritten; the new name."""
    for n in range(1, 10_000):
        aside = path.with_suffix(".differs.pt" if n == 1 else f".differs-{n}.pt")
        if not aside.exists():
            path.rename(aside)
            return aside
    raise CheckpointError(f"No free name to set {path} aside: remove old `*.differs*.pt` files.")


def retrain(shard: Shard | str, rows_dir: Path | str | None = None, device: torch.device | str | None = None,
            cache: Path | None = None, progress: bool = False) -> Path:
    """The checkpoint of a finished shard, checked against its rows: trained again first if the checkpoint cache
    lost it (a new machine), with the same config and seed, resumable and locked as `run` is. A checkpoint that
    does not give the clean accuracy the rows recorded is set aside (`_check_against_rows`). That happens when
    training changed since the rows' commit (e.g. fused Adam on the CPU since 656b104): then train it with that
    commit's code and `adopt` it."""
    cache = Path(cache) if cache is not None else paths.cache_dir()
    shard, cfg, recorded, path = _finished(shard, rows_dir, cache)
    device = check_device(device)
    if path.exists():
        model = load_checkpoint(path, cfg, device).model
    else:
        state = _state_path(shard, cfg, cache)
        with _shard_lock(shard, state):
            result = train(cfg, device=device, progress=progress, state_path=state)
            save_checkpoint(result, path)
            state.unlink(missing_ok=True)
        model = result.model
        print(f"{shard.name}: retrained in {result.train_seconds:.0f} s", flush=True)
    _check_against_rows(shard, model, path, recorded, device,
                        f"Train it with the code of commit {recorded['commit']}, then `adopt` it.")
    return path


def adopt(shard: Shard | str, rows_dir: Path | str | None = None, device: torch.device | str | None = None,
          cache: Path | None = None) -> Path:
    """Take into use the checkpoint of a finished shard that the code of its rows' commit trained again, where
    `retrain` cannot give the same model because training changed since (fused Adam on the CPU since 656b104):
    check out that commit in a `git worktree`, run the shard there into a scratch rows folder with
    `CIB_CACHE_DIR` set to this cache, then `adopt` it here. The checkpoint must hold the shard's config and give
    the clean accuracy its rows recorded to within one image (`_check_against_rows`). It is saved again in today's
    format (one of format 1 was written before the digest existed)."""
    shard, cfg, recorded, path = _finished(shard, rows_dir, Path(cache) if cache is not None else None)
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: train {shard.name} with the code of commit {recorded['commit']} "
                                f"first (see `adopt`).")
    device = check_device(device)
    result = load_checkpoint(path, cfg, device, format1=True)
    _check_against_rows(shard, result.model, path, recorded, device, "Train it with the code of that commit again.")
    save_checkpoint(result, path)  # in today's format, with its digest
    print(f"{shard.name}: {path.name} adopted; clean {float(recorded['accuracy']):.2f}%, as its rows record", flush=True)
    return path


def read_strong(root: Path | str | None = None) -> pd.DataFrame:
    """The stronger attacks' rows (`<root>/strong/<shard>--<tag>.csv`, one file per `strong` call), checked as
    `read_rows` checks the shards' (a row present twice, in one file or two, is refused)."""
    return rows_store.read(STRONG, _root(root))


def read_scales(root: Path | str | None = None) -> pd.DataFrame:
    """The noise scale each finished VIB-type model learned (`<root>/scales/<shard>.csv`), checked."""
    return rows_store.read(SCALES, _root(root))


AA_IMAGES = 1000  # AutoAttack's share of the test set in `strong` (on images it does not break at once it is slow)


def strong_specs(eps: float = 50 / 255) -> list[AttackSpec]:
    """Attacks that a robust-looking model must also survive: CW-loss PGD-20 and PGD-100 (the margin loss
    does not saturate as cross-entropy can), PGD-20 with 5 restarts, unbounded PGD-20 (eps = 1: any valid
    model falls to chance or below, Sec. 4.6 check 4), and AutoAttack `standard` (APGD-CE, APGD-T, FAB-T
    and the gradient-free Square attack, which a masked gradient cannot stop)."""
    return [AttackSpec("clean"), AttackSpec("cw", eps, steps=20), AttackSpec("cw", eps, steps=100),
            AttackSpec("pgd", eps, steps=20, restarts=5), AttackSpec("pgd", 1.0, steps=20),
            AttackSpec("autoattack", eps)]


def _strong_keys(root: Path, shard: Shard) -> set[tuple[str, float, int]]:
    mine = read_strong(root)
    mine = mine[mine["shard"] == shard.name]
    return set(zip(mine["attack"], mine["eps_255"], mine["n"]))


def run_strong(shard: Shard, rows_dir: Path | str | None = None, device: torch.device | str | None = None,
               test_limit: int | None = None, cache: Path | None = None,
               aa_images: int = AA_IMAGES, eps_255: float = 50, kinds: tuple[str, ...] | None = None,
               retrain_missing: bool = False) -> pd.DataFrame | None:
    """The stronger attacks of `strong_specs(eps_255 / 255)` (those of `kinds` only, if given) on a finished
    shard's 50-epoch model (`mean` prediction; EOT is not needed for a deterministic prediction) that the
    strong rows lack for it at that budget on as many images, written as one new file; None if all are there.
    AutoAttack runs on the first `aa_images` images of the same fixed test subset (0 leaves it out; a larger
    number adds a row with the larger `n`), the others on all of it. `kinds` naming `authors_pgd` adds the
    authors' PGD as their code computes it, on the prediction their code reports (`evaluate.authors_pgd_rows`),
    to a shard whose own rows lack it (those finished before it existed).
    With `retrain_missing`, a checkpoint the cache lost is trained again first (`retrain`)."""
    root = Path(rows_dir) if rows_dir is not None else default_dir()
    _check_writable(root / STRONG.folder, "give a writable rows folder.")
    device = check_device(device)
    if isinstance(aa_images, bool) or not isinstance(aa_images, int) or aa_images < 0:
        raise ValueError(f"aa_images must be an integer >= 0 (0: no AutoAttack), got {aa_images!r}.")
    torch.manual_seed(2000 + shard.seed)
    test = load_dataset(shard.dataset, "test", device=device, limit=test_limit)
    have = _strong_keys(root, shard)
    plan = {}  # the data each missing attack runs on
    for spec in strong_specs(eps_255 / 255):
        data = test.head(aa_images) if spec.kind == "autoattack" else test
        if kinds is not None and spec.kind not in kinds:
            continue
        if len(data) and (spec.label, round(spec.eps * 255, 2), len(data)) not in have:
            plan.setdefault(len(data), (data, []))[1].append(spec)
    mine = read_rows(root)
    mine = mine[(mine["shard"] == shard.name) & (mine["kind"] == "authors_pgd")]
    theirs = (kinds is not None and "authors_pgd" in kinds  # a shard of part 4 measured it itself
              and (authors_pgd(eps_255 / 255).label, round(eps_255, 2), len(test)) not in have
              and not np.isclose(mine["eps_255"].astype(float), eps_255).any())
    if not plan and not theirs:
        return None
    if retrain_missing:
        retrain(shard, root, device, cache)  # checked against the rows there
    model, cfg, device = finished_model(shard, device, cache)
    if not retrain_missing:  # e.g. a model of the same config trained by a notebook, or at another commit
        _check_against_rows(shard, model, checkpoint_path(cfg, cache), _recorded_clean(shard, root, cfg), device,
                            "`strong --retrain-missing` trains the shard's model again.")
    with model.prediction("mean"):
        frames = [robust_accuracy(model, data, specs, method=shard.method, protocol="strong")
                  for data, specs in plan.values()]
    if theirs:
        frames.append(authors_pgd_rows(model, test, [eps_255 / 255], method=shard.method))
    rows = pd.concat(frames, ignore_index=True)
    rows = rows.assign(shard=shard.name, variant=shard.variant, seed=shard.seed, epochs=cfg.epochs,
                       mode=_mode_names(rows["mode"]),
                       device=str(device), device_name=_device_name(device), threads=torch.get_num_threads(),
                       commit=git_commit(), finished=time.strftime("%Y-%m-%d %H:%M:%S"))
    have = _strong_keys(root, shard)  # another call may have written some of them meanwhile
    rows = rows[[k not in have for k in zip(rows["attack"], rows["eps_255"], rows["n"])]].reset_index(drop=True)
    if rows.empty or rows_store.write_once(STRONG, root, shard.name, rows_store.frame_text(STRONG, rows)) is None:
        return None
    return rows


def run_scales(shard: Shard, rows_dir: Path | str | None = None, device: torch.device | str | None = None,
               test_limit: int | None = None, cache: Path | None = None) -> pd.DataFrame | None:
    """How noisy a finished VIB/CausalIB shard's bottleneck is on the test images: the mean and median
    |sigma| over images and dimensions, the spread of mu (its sd over images, averaged over dimensions)
    and their ratio `snr` = mu_sd / sigma_mean, written to `<rows_dir>/scales/<shard>.csv`; None if there."""
    root = Path(rows_dir) if rows_dir is not None else default_dir()
    _check_writable(root / SCALES.folder, "give a writable rows folder.")
    if shard.name in set(read_scales(root)["shard"]):
        return None
    model, cfg, device = finished_model(shard, device, cache)
    rows = noise_scales(model, shard, load_dataset(shard.dataset, "test", device=device, limit=test_limit), cfg.epochs)
    if rows_store.write_once(SCALES, root, shard.name, rows_store.frame_text(SCALES, rows)) is None:
        return None
    return rows


def noise_scales(model, shard: Shard, test, epochs: int) -> pd.DataFrame:
    """One scales row (see `run_scales`) of a VIB-type `model` on the images of `test`."""
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


def status(rows_dir: Path | str | None = None, include_extra: bool = False) -> pd.DataFrame:
    """One line per shard: index, name, part, done or not, and for done ones their time and device. A damaged,
    cut or duplicated rows file raises (`rows.RowsError`, naming it) instead of being counted."""
    rows = read_rows(rows_dir)
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


def import_old_rows(table1: Path | None, strong: Path | None = None, scales: Path | None = None,
                    rows_dir: Path | str | None = None) -> dict[str, tuple[list[str], list[str]]]:
    """Move the rows of old shared files (`table1.csv`, `strong.csv`, `scales.csv` of the append layout) into
    one file per shard (per `strong` call) under `rows_dir`: idempotent (rows already there with the same text
    are skipped); a shard there with other rows, or a damaged old file, raises before anything is written.
    Per table: (the files written, the shards already present)."""
    root = _root(rows_dir)
    root.mkdir(parents=True, exist_ok=True)
    known = {s.name for s in all_shards()}
    todo = [(TABLES[name], Path(path)) for name, path in (("table1", table1), ("strong", strong), ("scales", scales))
            if path is not None]
    for table, path in todo:
        if not path.is_file():
            raise FileNotFoundError(f"{path} does not exist: give the old {table.name}.csv to import.")
        rows_store.import_rows(table, path, root, known, write=False)  # every check before any write
    return {table.name: rows_store.import_rows(table, path, root, known) for table, path in todo}


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


def _threads(text: str) -> int:
    """--threads: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1 (torch threads), got {text!r}")
    return value


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cibtools.paper_settings",
                                     description="Table 1 at the paper's settings, in resumable shards.")
    sub = parser.add_subparsers(dest="command", required=True)
    st = sub.add_parser("status", help="list the shards, done and missing")
    st.add_argument("--all", action="store_true", help="also the GPU-only `extra` shards")
    strong = sub.add_parser("strong", help="stronger attacks on finished shards (rows to strong/)")
    strong.add_argument("shards", nargs="+", help="names of finished shards")
    strong.add_argument("--eps-255", type=float, default=50, help="the budget in 1/255 (default 50, the paper's)")
    strong.add_argument("--kinds", nargs="+", choices=ATTACK_KINDS, help="only these attacks (e.g. autoattack)")
    strong.add_argument("--retrain-missing", action="store_true",
                        help="train a finished shard's model again if the checkpoint cache lost it (checked against "
                             "its rows' clean accuracy)")
    strong.add_argument("--device", help="cpu, cuda or cuda:N (default: cuda when present)")
    strong.add_argument("--aa-images", type=int, default=AA_IMAGES,
                        help=f"test images for AutoAttack (default {AA_IMAGES}; 10000: all of them; 0: none)")
    adopt_ = sub.add_parser("adopt", help="check a finished shard's checkpoint, trained again with the code of its "
                                          "rows' commit, against its rows, and take it into use (see `adopt`)")
    adopt_.add_argument("shards", nargs="+", help="names of finished shards")
    adopt_.add_argument("--device", help="cpu, cuda or cuda:N (default: cuda when present)")
    scales = sub.add_parser("scales", help="the noise scale of every finished VIB-type shard whose checkpoint is "
                                           "here (rows to scales/)")
    run = sub.add_parser("run", help="run the named shards, or every missing one")
    run.add_argument("shards", nargs="*", help="shard names (default: every missing shard)")
    run.add_argument("--index", type=int, help="the shard at this index of `status --all` (job arrays)")
    run.add_argument("--reverse", action="store_true", help="take the missing shards from the end (a second worker)")
    run.add_argument("--device", help="cpu, cuda or cuda:N (default: cuda when present)")
    sub_ = sub.add_parser("submit", help="submit each missing shard as one job of a job array through submitit "
                                         "(Slurm where `sbatch` exists, local processes otherwise)")
    sub_.add_argument("shards", nargs="*", help="shard names (default: every missing shard)")
    sub_.add_argument("--executor", choices=scheduler.EXECUTORS, default="auto",
                      help="slurm, local, or auto (default: slurm where `sbatch` exists)")
    sub_.add_argument("--cpus", type=int, default=1, help="CPUs per job, also its torch threads (default 1)")
    sub_.add_argument("--gpus", type=int, default=0, help="GPUs per job (default 0)")
    sub_.add_argument("--hours", type=float, default=4.0, help="time limit per job in hours (default 4)")
    sub_.add_argument("--partition", help="the Slurm partition")
    sub_.add_argument("--parallel", type=int, default=2, help="jobs running at once (default 2)")
    sub_.add_argument("--device", help="cpu, cuda or cuda:N (default: cuda when present on the node)")
    sub_.add_argument("--no-wait", action="store_true", help="local executor: return once the first jobs started")
    for p in (run, sub_):
        p.add_argument("--epochs", type=int, default=50, help="training epochs (50: the paper; less only for tests)")
        p.add_argument("--train-limit", type=int, default=None, help="training images (tests only)")
        p.add_argument("--test-limit", type=int, default=None, help="test images (tests only)")
    imp = sub.add_parser("import-rows", help="move the rows of old shared files (table1.csv, strong.csv, scales.csv) "
                                             "into one file per shard; idempotent")
    imp.add_argument("table1", type=Path, nargs="?", help="an old-style table1.csv")
    imp.add_argument("--strong", type=Path, help="an old-style strong.csv")
    imp.add_argument("--scales", type=Path, help="an old-style scales.csv")
    view = sub.add_parser("view", help="print one table's rows, all files combined, in the order written (CSV)")
    view.add_argument("table", choices=sorted(TABLES))
    for p in (strong, scales, run):
        p.add_argument("--threads", type=_threads, help="torch threads (default: torch's own)")
    for p in (st, strong, adopt_, scales, run, sub_, imp, view):
        p.add_argument("--dir", type=Path, default=None,
                       help="the rows folder, holding shards/, strong/ and scales/ (default results/paper_settings)")
    args = parser.parse_args(argv)
    try:
        _command(args)
    except (rows_store.RowsError, ValueError, FileNotFoundError, CheckpointError) as err:
        raise SystemExit(str(err)) from None


def _command(args) -> None:
    named = shards_named(getattr(args, "shards", None) or [])
    if args.command == "status":
        table = status(args.dir, include_extra=args.all)
        print(table.to_string(index=False))
        print(f"{int(table['done'].sum())} of {len(table)} shards done (rows in {_root(args.dir)})")
        return
    if args.command == "view":
        sys.stdout.write(rows_store.view_text(TABLES[args.table], _root(args.dir)))
        return
    if args.command == "import-rows":
        if args.table1 is None and args.strong is None and args.scales is None:
            raise ValueError("import-rows needs an old table1.csv, --strong FILE or --scales FILE.")
        for name, (written, present) in import_old_rows(args.table1, args.strong, args.scales, args.dir).items():
            print(f"{name}: {len(written)} new file(s){': ' + ', '.join(Path(w).name for w in written) if written else ''}"
                  f"; {len(present)} shard(s) already present with the same rows", flush=True)
        return
    if args.command == "submit":
        _submit(args, named)
        return
    if args.command == "adopt":
        for shard in named:
            adopt(shard, args.dir, args.device)
        return
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.command == "scales":
        done = done_shards(args.dir)
        for shard in all_shards():
            if shard.name not in done or shard.method not in ("vib", "causalib"):
                continue
            try:
                rows = run_scales(shard, args.dir)
            except (FileNotFoundError, CheckpointError) as err:
                print(f"{shard.name}: skipped, {err}", flush=True)
                continue
            print(f"{shard.name}: " + ("rows present, skipped" if rows is None else
                  f"|sigma| {rows['sigma_mean'].item():.3f}, sd(mu) {rows['mu_sd'].item():.3f}"), flush=True)
        return
    if args.command == "strong":
        for shard in named:
            rows = run_strong(shard, args.dir, device=args.device, aa_images=args.aa_images, eps_255=args.eps_255,
                              kinds=tuple(args.kinds) if args.kinds else None, retrain_missing=args.retrain_missing)
            print(f"{shard.name}: " + ("rows present, skipped" if rows is None else
                  ", ".join(f"{a} {v:.2f}%" for a, v in zip(rows["attack"], rows["accuracy"]))), flush=True)
        return
    _reduced_run_needs_dir(args)
    device = check_device(args.device)
    if args.dir is not None:
        args.dir.mkdir(parents=True, exist_ok=True)
    for shard in _select(args, named, device):
        if shard.name in done_shards(args.dir):
            print(f"{shard.name}: rows present, skipped", flush=True)
            continue
        try:
            rows = run_shard(shard, args.dir, device, args.epochs, args.train_limit, args.test_limit)
        except ShardBusy as busy:
            print(f"{busy}; skipped", flush=True)
            continue
        if rows is None:
            print(f"{shard.name}: another worker finished it first, skipped", flush=True)


def _submit(args, named: list[Shard]) -> None:
    """`submit`: every named (or missing) shard as one job each, through `cibtools.scheduler`."""
    _reduced_run_needs_dir(args)
    root = _root(args.dir)
    done = done_shards(root)
    chosen = named or [s for s in all_shards() if s.part != "extra" or (args.gpus and args.gpus > 0)]
    todo = [s for s in chosen if s.name not in done]
    for s in chosen:
        if s.name in done:
            print(f"{s.name}: rows present, not submitted", flush=True)
    if not todo:
        return
    if args.device is not None and args.executor == "local":
        check_device(args.device)  # a cluster node's devices are checked by the job there
    executor = scheduler.make_executor(args.executor, root / "logs", cpus=args.cpus, gpus=args.gpus, hours=args.hours,
                                       partition=args.partition, parallel=args.parallel)
    run_kwargs = dict(rows_dir=root, epochs=args.epochs, train_limit=args.train_limit, test_limit=args.test_limit)
    scheduler.submit(todo, executor, threads=args.cpus, device=args.device, run_kwargs=run_kwargs,
                     parallel=args.parallel, wait=not args.no_wait)


def _reduced_run_needs_dir(args) -> None:
    if (args.epochs != 50 or args.train_limit or args.test_limit is not None) and args.dir is None:
        raise ValueError("A reduced run (--epochs/--train-limit/--test-limit) must write elsewhere: give --dir FOLDER.")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("Interrupted: the shard's rows were not written; its training resumes from the last saved epoch.")
