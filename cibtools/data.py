"""Datasets as tensors on a device: MNIST and FashionMNIST from the shipped files, CIFAR-10 via torchvision.

MNIST-sized data fits in memory many times over, so a split is one `(images, labels)` pair of
tensors placed on the device once; training indexes batches directly (no per-sample DataLoader).
"""
from __future__ import annotations

import functools

import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import paths

DATASETS = ("mnist", "fashion_mnist", "cifar10")
SPLITS = ("train", "test")
# The datasets as the papers write them, which are also their folders in `data/`.
DATASET_NAMES = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST"}
_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


class ByDataset(dict):
    """A table keyed by dataset that accepts every spelling `load_dataset` accepts (`FashionMNIST`,
    `fashion-mnist`, ...): `CLASS_NAMES["FashionMNIST"]` is `CLASS_NAMES["fashion_mnist"]`."""

    def __getitem__(self, name):
        if isinstance(name, str) and dict.__contains__(self, name):
            return dict.__getitem__(self, name)
        return dict.__getitem__(self, check_name(name))

    def __contains__(self, name) -> bool:
        try:
            self[name]
        except (KeyError, ValueError):
            return False
        return True

    def get(self, name, default=None):
        return self[name] if name in self else default


CLASS_NAMES = ByDataset({
    "mnist": [str(i) for i in range(10)],
    "fashion_mnist": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                      "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
    "cifar10": ["airplane", "automobile", "bird", "cat", "deer",
                "dog", "frog", "horse", "ship", "truck"],
})
CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"
# Files whose checksum this process checked, by what identifies that version of the file: (size, mtime, inode,
# device, expected digest). A file replaced or edited after its first load is checked again. Checking on every
# load would add 0.17 s to the 1.3 s of decompressing MNIST's training images (measured), hence once per version.
_verified: dict[Path, tuple] = {}


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
        if _count(n, "subset") >= len(self):
            return self
        g = torch.Generator().manual_seed(seed)
        idx = torch.randperm(len(self), generator=g)[:n].to(self.labels.device)
        return TensorData(self.images[idx], self.labels[idx], self.name, self.split)

    def head(self, n: int | None) -> "TensorData":
        """The first `n` examples (all when `n` is None or too big): nested prefixes of one fixed subset,
        so rows evaluated on different sizes can still be compared image by image on their common prefix."""
        if _count(n, "head") >= len(self):
            return self
        return TensorData(self.images[:n], self.labels[:n], self.name, self.split)

    def to(self, device: torch.device | str) -> "TensorData":
        return TensorData(self.images.to(device), self.labels.to(device), self.name, self.split)


def _count(n, what: str) -> float:
    """`n` for `head`/`subset`: None (all, returned as infinity) or an integer >= 0; else a ValueError."""
    if n is None:
        return float("inf")
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"{what}(n) takes an integer n >= 0 (or None for all examples), got {n!r}.")
    return n


def check_name(name: str) -> str:
    """Normalise a dataset name (`FashionMNIST`, `fashion-mnist` ... -> `fashion_mnist`) or raise."""
    if not isinstance(name, str):
        raise ValueError(f"A dataset name must be a string, got {name!r}. Valid names: {', '.join(DATASETS)}.")
    key = name.lower().replace("-", "_")
    key = {"fashionmnist": "fashion_mnist", "fmnist": "fashion_mnist", "cifar_10": "cifar10"}.get(key, key)
    if key not in DATASETS:
        raise ValueError(f"Unknown dataset {name!r}. Valid names: {', '.join(DATASETS)}.")
    return key


def expected_files() -> list[str]:
    """The shipped raw files, relative to the data folder (without `.gz`)."""
    return [f"{folder}/raw/{stem}" for folder in DATASET_NAMES.values() for pair in _FILES.values() for stem in pair]


def read_checksums(root: Path) -> dict[str, str]:
    """SHA-256 of each uncompressed raw file, from `SHA256SUMS.uncompressed` in the data folder.

    The list must hold exactly one `<64 hex digits> <path>` line per shipped file: a malformed, comment,
    unknown or missing line raises `DataError` naming it."""
    listing = root / "SHA256SUMS.uncompressed"
    restore = f"restore it with `git checkout -- {listing}`"
    if not listing.exists():
        raise DataError(f"Checksum list {listing} is missing; {restore}.")
    sums: dict[str, str] = {}
    expected = set(expected_files())
    for number, line in enumerate(listing.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        if (len(parts) != 2 or len(parts[0]) != 64 or any(c not in "0123456789abcdef" for c in parts[0])
                or parts[1] not in expected or parts[1] in sums):
            raise DataError(f"{listing} line {number} is not '<sha256> <shipped file>' for a file listed once "
                            f"({line.strip()[:80]!r}); {restore}.")
        sums[parts[1]] = parts[0]
    missing = sorted(expected - set(sums))
    if missing:
        raise DataError(f"{listing} has no checksum for {', '.join(missing)}; {restore}.")
    return sums


def _read_raw(path_gz: Path, expected_sha256: str) -> bytes:
    """Decompress one raw file and check it against its expected SHA-256 (once per version of the file:
    again whenever its size, time, inode or expected digest changed)."""
    restore = f"Restore it with `git checkout -- {path_gz}`."
    try:
        info = path_gz.stat()
        raw = gzip.decompress(path_gz.read_bytes())
    except (OSError, EOFError) as err:
        raise DataError(f"{path_gz} is corrupt or truncated ({err}). {restore}") from err
    version = (info.st_size, info.st_mtime_ns, info.st_ino, info.st_dev, expected_sha256)
    if _verified.get(path_gz) != version:
        digest = hashlib.sha256(raw).hexdigest()
        if digest != expected_sha256:
            raise DataError(
                f"{path_gz} does not match its checksum: the SHA-256 of the uncompressed file is {digest}, "
                f"SHA256SUMS.uncompressed expects {expected_sha256}. The file or the checksum list is wrong: "
                f"restore both with `git checkout -- {path_gz.parent.parent.parent}`."
            )
        _verified[path_gz] = version
    return raw


def _parse_idx(raw: bytes) -> np.ndarray:
    """Parse an IDX file (big-endian header: magic, dims) holding unsigned bytes."""
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def _load_idx_dataset(name: str, split: str, root: Path) -> TensorData:
    """Read a shipped split; never touches the network (a missing file is an error naming it)."""
    folder = DATASET_NAMES[name]
    sums = read_checksums(root)
    arrays = []
    for stem in _FILES[split]:
        rel = f"{folder}/raw/{stem}"
        path_gz = root / f"{rel}.gz"
        if not path_gz.exists():
            raise DataError(f"{path_gz} is missing. The {name} files ship with the repository: restore it with "
                            f"`git checkout -- {path_gz}` (this project never downloads {name}).")
        arrays.append(_parse_idx(_read_raw(path_gz, sums[rel])))
    images = torch.from_numpy(arrays[0].copy()).unsqueeze(1).float().div_(255.0)
    labels = torch.from_numpy(arrays[1].astype(np.int64))
    return TensorData(images, labels, name, split)


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
    return all((base / DATASET_NAMES[key] / "raw" / f"{stem}.gz").exists() for pair in _FILES.values() for stem in pair)


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
    download: bool = False,
) -> TensorData:
    """Load a split of `mnist`, `fashion_mnist` or `cifar10` as tensors on `device`.

    MNIST and FashionMNIST are read from the files shipped in `data/` and never touch the network;
    their checksums are verified once per process. Only CIFAR-10 can be downloaded (torchvision's
    download), and only with `download=True`. `limit` keeps a fixed random subset of that many
    examples (an integer >= 1; for smoke runs and tests).
    """
    key = check_name(name)
    if split not in SPLITS:
        raise ValueError(f"Unknown split {split!r}. Valid splits: {', '.join(SPLITS)}.")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit must be None (all examples) or an integer >= 1, got {limit!r}.")
    base = Path(root) if root is not None else paths.data_dir()
    data = _load_cifar10(split, base, download) if key == "cifar10" else _load_idx_dataset(key, split, base)
    return data.subset(limit).to(device)


@functools.lru_cache(maxsize=None)
def always_dark_pixels(name: str) -> int:
    """How many pixel positions are 0 in every training image of the dataset (67 on MNIST)."""
    images = load_dataset(name, "train").images
    return int((images.amax(0) == 0).sum())
