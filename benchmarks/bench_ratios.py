"""Speed ratios measured inside one run, interleaved A/B (not tests): `python benchmarks/bench_ratios.py`.

- `eot`: one EOT-4 input gradient of a VIB in `sample` mode (S = 12) on 125 images (the batch `craft_all`
  gives an EOT-4 attack), with the k passes drawn at the bottleneck (`Classifier.eot_logits`, the default)
  against the batch repeated k times through the whole model (what attacks did before);
- `adam`: one VIB training step at batch 100 with `torch.optim.Adam(fused=True)` against the default
  per-parameter loop;
- `step_over_gemm`: one VIB training step at batch 100 (fused Adam, as `train` runs it) against its matrix
  multiplications alone: every `mm`/`addmm` the step calls, recorded with its shapes by `torch.profiler` in
  the same run and replayed on fresh tensors; new / old is the step's cost in units of its own GEMM time
  (issue 25's goal: within 1.3x);
- `workers` (CPU): four independent models (Baseline, VIB, CausalIB, mixup; MNIST, one epoch on all 60,000 images,
  each round into an empty cache) trained by two one-thread processes at once (`zoo.train_missing`, what
  notebooks 04 and 06 do on a CPU) against one process with two threads training them in turn;
- `autoattack_workers` (CPU): AutoAttack L-inf at 8/255 on the three reported predictions of a Baseline and a VIB
  (MNIST, one epoch on all 60,000 images): `standard` on 20 images each of the Baseline and the VIB's mean
  prediction, `rand` on 10 of its sampled one, by two one-thread processes at once (`adaptive.autoattack`, what
  notebook 09 does on a CPU) against one process running them in turn on one thread (what 09 did before).
Each pair is timed alternately `--rounds` times; the table gives the min and median of new / old.
Writes `benchmarks/ratios-<device>.json` (git-ignored).
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F

import cibtools
from cibtools import attacks
from cibtools.config import TrainConfig
from cibtools.results import git_commit
from cibtools.train import model_for, training_loss


def interleaved(a, b, rounds: int, device: torch.device) -> dict:
    """Times of a() and b() taken alternately; min and median of b / a."""
    ta, tb = [], []
    for _ in range(rounds):
        for fn, out in ((a, ta), (b, tb)):
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            fn()
            if device.type == "cuda":
                torch.cuda.synchronize()
            out.append(time.perf_counter() - start)
    ratios = [y / x for x, y in zip(ta, tb)]
    return {"old_ms_median": 1e3 * statistics.median(ta), "new_ms_median": 1e3 * statistics.median(tb),
            "new_over_old_min": min(ratios), "new_over_old_median": statistics.median(ratios)}


def eot_pair(device: torch.device, k: int = 4, images: int = 125):
    torch.manual_seed(0)
    model = model_for(TrainConfig("vib")).to(device).eval()
    x, y = torch.rand(images, 1, 28, 28, device=device), torch.randint(0, 10, (images,), device=device)

    def full_passes() -> None:  # the batch repeated k times through encoder and bottleneck
        xx = x.detach().requires_grad_(True)
        reps = xx.unsqueeze(0).expand(k, *x.shape).reshape(-1, *x.shape[1:])
        torch.autograd.grad(F.cross_entropy(model(reps), y.repeat(k), reduction="sum") / k, xx)

    def at_bottleneck() -> None:
        attacks.input_gradient(model, x, y, "ce", eot=k)

    model.predict_mode = "sample"  # benchmark only: the model is private to this function
    return full_passes, at_bottleneck


def adam_pair(device: torch.device):
    cfg = TrainConfig("vib").resolved()
    x, y = torch.rand(100, 1, 28, 28, device=device), torch.randint(0, 10, (100,), device=device)
    steps = []
    for fused in (False, True):
        torch.manual_seed(0)
        model = model_for(cfg).to(device).train()
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, fused=fused)

        def step(model=model, opt=opt) -> None:
            loss, _ = training_loss(model, cfg, x, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        steps.append(step)
    return steps[0], steps[1]


def step_gemm_pair(device: torch.device):
    from torch.profiler import ProfilerActivity, profile

    cfg = TrainConfig("vib").resolved()
    torch.manual_seed(0)
    model = model_for(cfg).to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, fused=True)
    x, y = torch.rand(100, 1, 28, 28, device=device), torch.randint(0, 10, (100,), device=device)

    def step() -> None:
        loss, _ = training_loss(model, cfg, x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step()
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        step()
    calls = []
    for e in prof.events():
        if e.name == "aten::mm":
            (a, b), (_, c) = e.input_shapes[:2]
            calls.append((None, torch.rand(a, b, device=device), torch.rand(b, c, device=device)))
        elif e.name == "aten::addmm":
            bias, (a, b), (_, c) = e.input_shapes[:3]
            calls.append((torch.rand(*bias, device=device), torch.rand(a, b, device=device), torch.rand(b, c, device=device)))

    def gemms() -> None:
        for bias, a, b in calls:
            torch.mm(a, b) if bias is None else torch.addmm(bias, a, b)

    return gemms, step


def workers_pair(device: torch.device):
    import os
    import tempfile
    from cibtools import zoo

    keys = [(m, "mnist", 0, (("train_limit", None), ("epochs", 1))) for m in ("baseline", "vib", "causalib", "mixup")]

    def run(workers: int) -> None:
        with tempfile.TemporaryDirectory() as cache:
            os.environ["CIB_CACHE_DIR"] = cache  # the spawned workers read the same empty cache
            threads = torch.get_num_threads()
            torch.set_num_threads(2)
            try:
                zoo.train_missing(keys, "quick", "cpu", workers=workers)
            finally:
                torch.set_num_threads(threads)
                del os.environ["CIB_CACHE_DIR"]

    return (lambda: run(1)), (lambda: run(2))


def autoattack_pair(device: torch.device):
    from cibtools import adaptive

    torch.manual_seed(0)
    models = {m: cibtools.train(TrainConfig(m, epochs=1), device="cpu", progress=False).model for m in ("baseline", "vib")}
    test = cibtools.load_dataset("mnist", "test").subset(20, seed=0)
    sizes = dict(aa_limit=20, aa_rand_limit=10, aa_ciiv_limit=0)

    def run(workers: int) -> None:
        adaptive.autoattack({"mnist": models}, {"mnist": test}, sizes, 8 / 255, threads=1, workers=workers)

    return (lambda: run(1)), (lambda: run(2))


SLOW = ("two_workers_4_models", "autoattack_workers")  # minutes a round: --worker-rounds, no warm-up, CPU only
PAIRS = {"eot4_gradient": eot_pair, "adam_fused_step": adam_pair, "step_over_gemm": step_gemm_pair, "two_workers_4_models": workers_pair,
         "autoattack_workers": autoattack_pair}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--rounds", type=int, default=30, help="interleaved A/B rounds per pair")
    parser.add_argument("--pairs", nargs="+", choices=sorted(PAIRS), default=sorted(PAIRS), help="which pairs")
    parser.add_argument("--worker-rounds", type=int, default=3, help="rounds of the (slow) pairs with workers")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = cibtools.default_device()
    out: dict = {"device": str(device), "threads": torch.get_num_threads(), "torch": torch.__version__,
                 "machine": platform.processor() or platform.machine(), "commit": git_commit()}
    for name in args.pairs:
        if name in SLOW and device.type != "cpu":
            continue  # on a GPU one process keeps the device busy (`workers.count`)
        old, new = PAIRS[name](device)
        if name not in SLOW:
            old(), new()  # warm-up
        out[name] = interleaved(old, new, args.worker_rounds if name in SLOW else args.rounds, device)
    flat = {k: v for k, v in out.items() if not isinstance(v, dict)}  # one level, as benchmarks/measured/ keeps them
    flat |= {f"{name}_{k}": v for name, d in out.items() if isinstance(d, dict) for k, v in d.items()}
    path = Path(__file__).parent / f"ratios-{device.type}.json"
    path.write_text(json.dumps(flat, indent=2))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
