import gzip
import struct

import numpy as np
import pytest
import torch
from PIL import Image

from lsnb.data import augment as aug, images as data


def write_idx(path, array):
    """Write an IDX file (the MNIST format) gzipped, as the Debian package ships them."""
    array = np.asarray(array, dtype=np.uint8)
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.tobytes())


@pytest.fixture
def fake_debian(tmp_path):
    rng = np.random.default_rng(0)
    d = tmp_path / "debian"
    d.mkdir()
    write_idx(d / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (120, 28, 28)))
    write_idx(d / "train-labels-idx1-ubyte.gz", np.arange(120) % 10)
    write_idx(d / "t10k-images-idx3-ubyte.gz", rng.integers(0, 256, (30, 28, 28)))
    write_idx(d / "t10k-labels-idx1-ubyte.gz", np.arange(30) % 10)
    return d


def test_fashion_mnist_from_debian_files(tmp_path, fake_debian, monkeypatch):
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", fake_debian)
    root = tmp_path / "root"
    assert data.prepare_fashion_mnist(root, fake_debian)
    assert not list((root / "FashionMNIST" / "raw").glob(".*tmp"))
    ds = data.load("fashion_mnist", root=root, n_val=20)
    assert ds.train.x.shape == (100, 1, 28, 28) and ds.train.x.dtype == torch.uint8
    assert ds.val.x.shape == (20, 1, 28, 28) and ds.test.x.shape == (30, 1, 28, 28)
    assert ds.num_classes == 10 and ds.classes[0] == "T-shirt/top"
    # the validation split is fixed and disjoint from the training split
    again = data.load("fashion_mnist", root=root, n_val=20)
    assert torch.equal(again.val.x, ds.val.x)
    flat = lambda s: {bytes(x.numpy()) for x in s.x}
    assert not flat(ds.val) & flat(ds.train)
    small = data.load("fashion_mnist", root=root, n_val=20, n_train=50, n_test=10)
    assert len(small.train) == 50 and len(small.test) == 10


def test_missing_data_names_both_remedies(tmp_path, monkeypatch):
    import torchvision.datasets as tvd

    def no_network(self, *a, **k):
        raise OSError("no network")

    monkeypatch.setattr(tvd.FashionMNIST, "download", no_network)
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", tmp_path / "absent")
    with pytest.raises(data.DataUnavailable) as err:
        data.load("fashion_mnist", root=tmp_path / "empty")
    assert "apt-get install dataset-fashion-mnist" in str(err.value) and "download" in str(err.value)


def test_imagefolder(tmp_path):
    rng = np.random.default_rng(1)
    for part, n in (("train", 4), ("test", 2)):
        for c in ("cat", "ant"):
            (tmp_path / part / c).mkdir(parents=True)
            for i in range(n):
                Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(tmp_path / part / c / f"{i}.png")
    ds = data.load(f"imagefolder:{tmp_path}", n_val=2)
    assert ds.classes == ("ant", "cat")
    assert ds.train.x.shape == (6, 3, 8, 8) and len(ds.val) == 2 and ds.test.x.shape == (4, 3, 8, 8)
    assert ds.test.y.tolist() == [0, 0, 1, 1]
    cached = data.load(f"imagefolder:{tmp_path}", n_val=2)  # second time from the decoded cache
    assert torch.equal(cached.test.x, ds.test.x)


def test_imagefolder_without_split_folders(tmp_path):
    with pytest.raises(data.DataUnavailable, match="train/<class>/ and test/<class>/"):
        data.load(f"imagefolder:{tmp_path}")


def test_random_crop_is_a_shift_of_the_padded_image():
    x = torch.arange(2 * 1 * 5 * 5, dtype=torch.uint8).reshape(2, 1, 5, 5)
    g = torch.Generator().manual_seed(0)
    out = aug.random_crop(x, 5, 2, g)
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    g = torch.Generator().manual_seed(0)
    oy = torch.randint(0, 5, (2,), generator=g)
    ox = torch.randint(0, 5, (2,), generator=g)
    for i in range(2):
        assert torch.equal(out[i], padded[i, :, oy[i]:oy[i] + 5, ox[i]:ox[i] + 5])
    assert torch.equal(aug.random_crop(x, 5, 0, g), x)


def test_random_crop_without_padding_and_center_crop():
    x = torch.randint(0, 255, (3, 3, 32, 32), dtype=torch.uint8)
    assert aug.random_crop(x, 24, 0, torch.Generator().manual_seed(0)).shape == (3, 3, 24, 24)
    assert torch.equal(aug.center_crop(x, 24), x[..., 4:28, 4:28])


def test_flip_and_standardize():
    x = torch.rand(64, 3, 4, 4)
    f = aug.random_flip(x, torch.Generator().manual_seed(0))
    flipped = [torch.equal(f[i], x[i].flip(-1)) for i in range(64)]
    assert 10 < sum(flipped) < 54
    assert all(fl or torch.equal(f[i], x[i]) for i, fl in enumerate(flipped))
    s = aug.per_image_standardize(x * 255)
    torch.testing.assert_close(s.flatten(1).mean(1), torch.zeros(64), atol=1e-5, rtol=0)
    torch.testing.assert_close(s.flatten(1).std(1, unbiased=False), torch.ones(64), atol=1e-4, rtol=0)
    const = aug.per_image_standardize(torch.full((1, 1, 4, 4), 7.0))
    assert torch.isfinite(const).all()


@pytest.mark.parametrize("augment, shape", [("none", (4, 1, 28, 28)), ("shift2", (4, 1, 28, 28)),
                                            ("cifar", (4, 3, 32, 32)), ("alexnet", (4, 3, 24, 24))])
def test_prepare_batch_shapes(augment, shape):
    c = shape[1]
    size = 28 if c == 1 else 32
    x = torch.randint(0, 256, (4, c, size, size), dtype=torch.uint8)
    g = torch.Generator().manual_seed(0)
    for train in (True, False):
        out = aug.prepare_batch(x, augment, train, g)
        assert out.shape == shape and out.dtype == torch.float32
    assert torch.equal(aug.prepare_batch(x, augment, False, None), aug.prepare_batch(x, augment, False, None))


def test_main_reports_errors(capsys):
    assert data.cli(["imagenet"], "fashion_mnist", data.describe) == 1
    assert "dataset='imagenet' is unknown" in capsys.readouterr().err


def test_a_damaged_raw_file_is_copied_again_from_the_package(tmp_path, fake_debian):
    root = tmp_path / "root"
    assert data.prepare_fashion_mnist(root, fake_debian)
    raw = root / "FashionMNIST" / "raw" / "train-images-idx3-ubyte"
    whole = raw.read_bytes()
    raw.write_bytes(whole[:5000])                                               # a copy cut short
    assert "announces" in data.idx_problem(raw)
    assert data.prepare_fashion_mnist(root, fake_debian) and raw.read_bytes() == whole


def test_a_damaged_raw_file_without_the_package_is_named_with_its_remedy(tmp_path, fake_debian):
    root = tmp_path / "root"
    assert data.prepare_fashion_mnist(root, fake_debian)
    raw = root / "FashionMNIST" / "raw" / "t10k-labels-idx1-ubyte"
    raw.write_bytes(b"garbage")
    with pytest.raises(data.DataUnavailable, match=r"t10k-labels-idx1-ubyte is unreadable: it does not start like "
                                                   r"an IDX file .* Delete it and run again"):
        data.prepare_fashion_mnist(root, tmp_path / "absent")


def imagefolder(root, classes=("ant", "cat"), sizes=(("train", 4), ("test", 2)), seed=1):
    rng = np.random.default_rng(seed)
    for part, n in sizes:
        for c in classes:
            (root / part / c).mkdir(parents=True, exist_ok=True)
            for i in range(n):
                Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(root / part / c / f"{i}.png")


def test_imagefolder_cache_notices_changed_images_and_renamed_classes(tmp_path):
    imagefolder(tmp_path)
    first = data.load(f"imagefolder:{tmp_path}")
    Image.fromarray(np.zeros((8, 8, 3), dtype=np.uint8)).save(tmp_path / "test" / "ant" / "0.png")
    changed = data.load(f"imagefolder:{tmp_path}")
    assert not torch.equal(changed.test.x, first.test.x) and changed.test.x[0].sum() == 0
    for part in ("train", "test"):
        (tmp_path / part / "cat").rename(tmp_path / part / "dog")
    assert data.load(f"imagefolder:{tmp_path}").classes == ("ant", "dog")
    assert len(list(tmp_path.glob(".lsnb-cache-*.pt"))) == 1                   # the stale caches are gone


def test_imagefolder_cut_short_cache_is_decoded_again(tmp_path):
    imagefolder(tmp_path)
    first = data.load(f"imagefolder:{tmp_path}")
    cache, = tmp_path.glob(".lsnb-cache-*.pt")
    cache.write_bytes(cache.read_bytes()[:100])
    assert torch.equal(data.load(f"imagefolder:{tmp_path}").train.x, first.train.x)


@pytest.mark.parametrize("damage, words", [
    (lambda root: (root / "test" / "bee").mkdir(), "only in test/: bee"),
    (lambda root: __import__("shutil").rmtree(root / "test" / "cat"), "only in train/: cat"),
    (lambda root: (root / "train" / "ant" / "notes.txt").write_text("hello"), "notes.txt is not a readable image"),
    (lambda root: Image.fromarray(np.zeros((9, 8, 3), dtype=np.uint8)).save(root / "train" / "cat" / "9.png"),
     "9.png is 8 x 9 pixels, but .* is 8 x 8"),
])
def test_imagefolder_problems_name_the_class_or_file(tmp_path, damage, words):
    imagefolder(tmp_path)
    damage(tmp_path)
    with pytest.raises(data.DataUnavailable, match=words):
        data.load(f"imagefolder:{tmp_path}")
