import gzip
import shutil

import pytest
import torch

import cibtools.data as D
from cibtools import paths


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
@pytest.mark.parametrize("split,n", [("train", 60000), ("test", 10000)])
def test_shipped_splits_load_offline(name, split, n):
    data = D.load_dataset(name, split)
    assert data.images.shape == (n, 1, 28, 28)
    assert data.images.dtype == torch.float32 and data.labels.dtype == torch.int64
    assert 0.0 <= data.images.min() and data.images.max() <= 1.0 and data.images.max() > 0.99
    assert set(data.labels.unique().tolist()) == set(range(10))


def test_known_first_labels():
    # MNIST's first training labels are 5 0 4 1 9; Fashion-MNIST's first is 9 (ankle boot).
    assert D.load_dataset("mnist", "train", limit=None).labels[:5].tolist() == [5, 0, 4, 1, 9]
    assert D.load_dataset("fashion_mnist").labels[0].item() == 9


def test_limit_is_a_fixed_subset():
    a = D.load_dataset("mnist", "test", limit=50)
    b = D.load_dataset("mnist", "test", limit=50)
    assert len(a) == 50 and torch.equal(a.labels, b.labels)


def test_unknown_name_lists_valid_ones():
    with pytest.raises(ValueError, match="mnist, fashion_mnist, cifar10"):
        D.load_dataset("imagenet")
    with pytest.raises(ValueError, match="split"):
        D.load_dataset("mnist", "validation")


def _copy_tree(tmp_path):
    root = tmp_path / "data"
    shutil.copytree(paths.REPO_ROOT / "data" / "MNIST", root / "MNIST")
    shutil.copy(paths.REPO_ROOT / "data" / "SHA256SUMS.uncompressed", root)
    return root


def test_corrupted_file_names_file_and_checksum(tmp_path):
    root = _copy_tree(tmp_path)
    target = root / "MNIST/raw/t10k-labels-idx1-ubyte.gz"
    raw = bytearray(gzip.decompress(target.read_bytes()))
    raw[100] ^= 0xFF  # flip one label byte: still valid gzip, wrong content
    target.write_bytes(gzip.compress(bytes(raw)))
    expected = D.read_checksums(root)["MNIST/raw/t10k-labels-idx1-ubyte"]
    with pytest.raises(D.DataError) as err:
        D.load_dataset("mnist", "test", root=root)
    assert "t10k-labels-idx1-ubyte.gz" in str(err.value) and expected in str(err.value)


def test_truncated_file_is_reported(tmp_path):
    root = _copy_tree(tmp_path)
    target = root / "MNIST/raw/t10k-images-idx3-ubyte.gz"
    target.write_bytes(target.read_bytes()[:1000])
    with pytest.raises(D.DataError, match="corrupt or truncated"):
        D.load_dataset("mnist", "test", root=root)


def test_cifar10_offline_says_where_to_put_archive(tmp_path, monkeypatch):
    with pytest.raises(D.DataError, match="cifar-10-python.tar.gz"):
        D.load_dataset("cifar10", "test", root=tmp_path, download=False)


def test_fake_cifar10_shape():
    fake = D.fake_cifar10(8)
    assert fake.images.shape == (8, 3, 32, 32) and fake.name == "fake_cifar10"
