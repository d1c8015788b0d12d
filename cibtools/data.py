"""Datasets as tensors on a device: MNIST and FashionMNIST from the shipped files, CIFAR-10 via torchvision.

MNIST-sized data fits in memory many times over, so a split is one `(images, labels)` pair of
tensors placed on the device once; training indexes batches directly (no per-sample DataLoader).
"""
from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import paths

DATASETS = ("mnist", "fashion_mnist", "cifar10")
SPLITS = ("train", "test")
_FOLDERS = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST"}
_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
CLASS_NAMES = {
    "mnist": [str(i) for i in range(10)],
    "fashion_mnist": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                      "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
    "cifar10": ["airplane", "automobile", "bird", "cat", "deer",
                "dog", "frog", "horse", "ship", "truck"],
}
CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"
_verified: set[Path] = set()  # files whose checksum this process already checked


class DataError(RuntimeError):
    """A dataset file is missing, corrupt, or cannot be obtained offline."""


@dataclass
class TensorData:
    """One split held as tensors: images float32 in [0, 1] shaped (N, C, H, W), labels int64."""

    images: torch.Tensor
    labels: torch.Tensor
    name: str
    split: str

    def __len__(self) -> int:
        return self.labels.shape[0]

    def subset(self, n: int | None, seed: int = 0) -> "TensorData":
        """The first `n` examples of a fixed random permutation (all when `n` is None or too big)."""
        if n is None or n >= len(self):
            return self
        g = torch.Generator().manual_seed(seed)
        idx = torch.randperm(len(self), generator=g)[:n].to(self.labels.device)
        return TensorData(self.images[idx], self.labels[idx], self.name, self.split)

    def to(self, device: torch.device | str) -> "TensorData":
        return TensorData(self.images.to(device), self.labels.to(device), self.name, self.split)


def check_name(name: str) -> str:
    """Normalise a dataset name (`FashionMNIST`, `fashion-mnist` ... -> `fashion_mnist`) or raise."""
    key = name.lower().replace("-", "_")
    key = {"fashionmnist": "fashion_mnist", "fmnist": "fashion_mnist", "cifar_10": "cifar10"}.get(key, key)
    if key not in DATASETS:
        raise ValueError(f"Unknown dataset {name!r}. Valid names: {', '.join(DATASETS)}.")
    return key


def read_checksums(root: Path) -> dict[str, str]:
    """SHA-256 of each uncompressed raw file, from `SHA256SUMS.uncompressed` in the data folder."""
    listing = root / "SHA256SUMS.uncompressed"
    if not listing.exists():
        raise DataError(f"Checksum list {listing} is missing; restore it from the repository (git checkout data/).")
    sums = {}
    for line in listing.read_text().splitlines():
        if line.strip():
            digest, rel = line.split()
            sums[rel] = digest
    return sums


def _read_raw(path_gz: Path, expected_sha256: str) -> bytes:
    """Decompress one raw file and check it against its expected SHA-256 (once per process)."""
    try:
        raw = gzip.decompress(path_gz.read_bytes())
    except (OSError, EOFError) as err:
        raise DataError(
            f"{path_gz} is corrupt or truncated ({err}). Expected the uncompressed SHA-256 "
            f"{expected_sha256}. Restore it with `git checkout -- {path_gz.name}` in its folder."
        ) from err
    if path_gz not in _verified:
        digest = hashlib.sha256(raw).hexdigest()
        if digest != expected_sha256:
            raise DataError(
                f"{path_gz} does not match its checksum: SHA-256 of the uncompressed file is {digest}, "
                f"expected {expected_sha256}. The file is corrupt; restore it from the repository "
                f"(`git checkout -- data/`)."
            )
        _verified.add(path_gz)
    return raw


def _parse_idx(raw: bytes) -> np.ndarray:
    """Parse an IDX file (big-endian header: magic, dims) holding unsigned bytes."""
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def _load_idx_dataset(name: str, split: str, root: Path) -> TensorData:
    folder = _FOLDERS[name]
    sums = read_checksums(root)
    arrays = []
    for stem in _FILES[split]:
        rel = f"{folder}/raw/{stem}"
        path_gz = root / f"{rel}.gz"
        if not path_gz.exists():
            _download_with_torchvision(name, root)
            if not path_gz.exists():
                raise DataError(f"{path_gz} is missing and could not be downloaded.")
        arrays.append(_parse_idx(_read_raw(path_gz, sums[rel])))
    images = torch.from_numpy(arrays[0].copy()).unsqueeze(1).float().div_(255.0)
    labels = torch.from_numpy(arrays[1].astype(np.int64))
    return TensorData(images, labels, name, split)


def _download_with_torchvision(name: str, root: Path) -> None:
    """Fallback only when the shipped files are absent: torchvision's own download (needs internet)."""
    import torchvision

    cls = {"mnist": torchvision.datasets.MNIST, "fashion_mnist": torchvision.datasets.FashionMNIST}[name]
    try:
        cls(root=str(root), train=True, download=True)
        cls(root=str(root), train=False, download=True)
    except Exception as err:  # noqa: BLE001 - any network failure gets the same advice
        raise DataError(
            f"The {name} files are missing from {root / _FOLDERS[name] / 'raw'} and the download failed "
            f"({err}). Restore the shipped copy with `git checkout -- data/`."
        ) from err


def _load_cifar10(split: str, root: Path, download: bool) -> TensorData:
    import torchvision

    try:
        ds = torchvision.datasets.CIFAR10(root=str(root), train=(split == "train"), download=download)
    except Exception as err:  # noqa: BLE001 - offline, corrupt or absent archive
        raise DataError(
            f"CIFAR-10 is not available offline ({err}). Download {CIFAR10_ARCHIVE} from "
            f"https://www.cs.toronto.edu/~kriz/cifar.html and place it in {root}/ (or run once with "
            f"internet access); it is unpacked there on first use."
        ) from err
    images = torch.from_numpy(ds.data).permute(0, 3, 1, 2).float().div_(255.0).contiguous()
    labels = torch.tensor(ds.targets, dtype=torch.int64)
    return TensorData(images, labels, "cifar10", split)


def available(name: str, root: str | Path | None = None) -> bool:
    """Whether `name` can be loaded without a download (shipped files, or CIFAR-10 placed in data/)."""
    key = check_name(name)
    base = Path(root) if root is not None else paths.data_dir()
    if key == "cifar10":
        return (base / "cifar-10-batches-py").is_dir() or (base / CIFAR10_ARCHIVE).exists()
    return all((base / _FOLDERS[key] / "raw" / f"{stem}.gz").exists() for pair in _FILES.values() for stem in pair)


def fake_cifar10(n: int, seed: int = 0) -> TensorData:
    """Random images of CIFAR-10's shape (3x32x32, 10 classes) for smoke runs. NOT CIFAR-10."""
    g = torch.Generator().manual_seed(seed)
    images = torch.rand(n, 3, 32, 32, generator=g)
    labels = torch.randint(0, 10, (n,), generator=g)
    return TensorData(images, labels, "fake_cifar10", "fake")


def load_dataset(
    name: str,
    split: str = "train",
    device: torch.device | str = "cpu",
    root: str | Path | None = None,
    limit: int | None = None,
    download: bool = True,
) -> TensorData:
    """Load a split of `mnist`, `fashion_mnist` or `cifar10` as tensors on `device`.

    MNIST and FashionMNIST are read from the files shipped in `data/` with no network call; their
    checksums are verified once per process. Only when the files are absent does torchvision's
    download run. `limit` keeps a fixed random subset (for smoke runs and tests).
    """
    key = check_name(name)
    if split not in SPLITS:
        raise ValueError(f"Unknown split {split!r}. Valid splits: {', '.join(SPLITS)}.")
    base = Path(root) if root is not None else paths.data_dir()
    data = _load_cifar10(split, base, download) if key == "cifar10" else _load_idx_dataset(key, split, base)
    return data.subset(limit).to(device)
