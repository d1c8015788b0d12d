"""Speed benchmarks of the engine (not tests): `make benchmark` or `python benchmarks/bench_engine.py`.

Measures, on the default device (CUDA when present):
- loading MNIST into tensors (checksums verified once per process);
- one training epoch of the baseline MLP, VIB and CausalIB on MNIST (60k images, batch 100), and the
  same baseline epoch fed by a per-sample torch DataLoader (torchvision's ToTensor on PIL images),
  the design the engine avoids;
- the causal loss with its n draws in one batched decoder call vs a Python loop over the draws;
- PGD-20 (L-inf, 50/255) over the 10k MNIST test images;
- one CausalIB epoch of AlexNet on CIFAR-10-shaped images (random data of the right shape, so that no
  CIFAR-10 download is needed: the cost does not depend on the pixel values), timed on
  `--alexnet-images` images and scaled to CIFAR-10's 50k.
Writes `benchmarks/results-<device>.json` (git-ignored) and prints a table.
"""
from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch

import cibtools
from cibtools import attacks, losses
from cibtools.config import TrainConfig
from cibtools.data import fake_cifar10, load_dataset
from cibtools.results import git_commit
from cibtools.train import model_for, train


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(fn, device: torch.device, repeats: int = 1) -> float:
    """Best wall time of `repeats` calls of fn(), in seconds."""
    best = float("inf")
    for _ in range(repeats):
        _sync(device)
        start = time.perf_counter()
        fn()
        _sync(device)
        best = min(best, time.perf_counter() - start)
    return best


def epoch_seconds(method: str, data, device: torch.device) -> float:
    cfg = TrainConfig(method, dataset="mnist", epochs=1, seed=0)
    return train(cfg, device=device, data=data, progress=False).history[0]["seconds"]


class _PILDataset(torch.utils.data.Dataset):
    """What torchvision's MNIST does per sample: uint8 array -> PIL image -> ToTensor."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor):
        from torchvision import transforms

        self.images = (images.cpu() * 255).round().to(torch.uint8).squeeze(1).numpy()
        self.labels = labels.cpu().tolist()
        self.to_tensor = transforms.ToTensor()

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        from PIL import Image

        return self.to_tensor(Image.fromarray(self.images[i], mode="L")), self.labels[i]


def dataloader_epoch_seconds(data, device: torch.device) -> float:
    """The baseline epoch the conventional way: a per-sample DataLoader with PIL + ToTensor."""
    loader = torch.utils.data.DataLoader(_PILDataset(data.images, data.labels), batch_size=100, shuffle=True)
    model = model_for(TrainConfig("baseline")).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    _sync(device)
    start = time.perf_counter()
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        loss = torch.nn.functional.cross_entropy(model.logits_deterministic(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    _sync(device)
    return time.perf_counter() - start


def causal_loss_looped(decoder, mu, sigma, n: int) -> torch.Tensor:
    """The same L_causal (scaled instrument, probs, L1, sum over pairs) with one decoder call per draw."""
    direction = sigma * torch.randn_like(mu)
    y0 = decoder(mu).softmax(-1)
    ws = []
    for _ in range(n):
        a = torch.empty((mu.shape[0], 1), device=mu.device).uniform_(0.5, 1.5)
        ws.append((decoder(mu + a * direction).softmax(-1) - y0) / a)
    return losses.pairwise_spread(torch.stack(ws), "l1", "sum")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--alexnet-images", type=int, default=2000,
                        help="images for the AlexNet CausalIB epoch (scaled to 50k); 0 skips it")
    parser.add_argument("--train-images", type=int, default=None, help="MNIST training images (default: all 60k)")
    parser.add_argument("--skip-dataloader", action="store_true", help="skip the DataLoader reference epoch")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = cibtools.default_device()
    out: dict = {"device": str(device), "train_images": args.train_images or 60000, "threads": torch.get_num_threads(), "torch": torch.__version__,
                 "machine": platform.processor() or platform.machine(), "commit": git_commit(),
                 "gpu": torch.cuda.get_device_name(0) if device.type == "cuda" else None}

    start = time.perf_counter()
    train_data = load_dataset("mnist", "train", device=device, limit=args.train_images)
    test_data = load_dataset("mnist", "test", device=device)
    out["load_mnist_s"] = time.perf_counter() - start

    for method in ("baseline", "vib", "causalib"):
        out[f"epoch_{method}_s"] = epoch_seconds(method, train_data, device)
    out["causalib_over_vib"] = out["epoch_causalib_s"] / out["epoch_vib_s"]
    if not args.skip_dataloader:
        out["epoch_baseline_dataloader_s"] = dataloader_epoch_seconds(train_data, device)
        out["dataloader_over_tensors"] = out["epoch_baseline_dataloader_s"] / out["epoch_baseline_s"]

    model = model_for(TrainConfig("causalib")).to(device)
    with torch.no_grad():
        mu, sigma = model.head.stats(model.encoder(train_data.images[:100]))
    cfg = losses.CausalConfig()
    with torch.no_grad():  # forward cost of L_causal on one batch of 100, n = 12 draws
        out["causal_loss_batched_ms"] = 1e3 * timed(lambda: losses.causal_loss(model.head.decode, mu, sigma, cfg), device, 20)
        out["causal_loss_looped_ms"] = 1e3 * timed(lambda: causal_loss_looped(model.head.decode, mu, sigma, cfg.n_draws), device, 20)

    baseline = train(TrainConfig("baseline", dataset="mnist", epochs=1, seed=0), device=device, data=train_data,
                     progress=False).model
    eps = 50 / 255

    def pgd_all() -> None:
        for i in range(0, len(test_data), 1000):
            attacks.pgd(baseline, test_data.images[i:i + 1000], test_data.labels[i:i + 1000], eps, steps=20)

    out["pgd20_10k_s"] = timed(pgd_all, device)

    if args.alexnet_images:
        fake = fake_cifar10(args.alexnet_images).to(device)
        cfg = TrainConfig("causalib", dataset="cifar10", arch="alexnet", epochs=1, seed=0)
        train(cfg, device=device, data=fake.subset(min(200, len(fake))), progress=False)  # warm-up (cuDNN, allocator)
        seconds = train(cfg, device=device, data=fake, progress=False).history[0]["seconds"]
        out["alexnet_causalib_epoch_images"] = args.alexnet_images
        out["alexnet_causalib_epoch_50k_s"] = seconds * 50000 / args.alexnet_images

    path = Path(__file__).parent / f"results-{device.type}.json"
    path.write_text(json.dumps(out, indent=2))
    width = max(map(len, out))
    for key, value in out.items():
        print(f"{key:<{width}}  {value:.3f}" if isinstance(value, float) else f"{key:<{width}}  {value}")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
