"""Handwritten digits (offline scikit-learn digits at 28x28, online MNIST idx files) and the digit models."""
import gzip
import hashlib
import warnings

import numpy as np
import pytest
import torch

import hwlib
from hwlib.datasets import digits
from hwlib.models.digits import digit_cnn, digit_linear


@pytest.fixture(scope="module")
def offline_train():
    return hwlib.load_digits("offline", "train")


@pytest.fixture(scope="module")
def offline_val():
    return hwlib.load_digits("offline", "val")


def test_offline_digits_contract(offline_train, offline_val):
    """Offline digits: (N, 1, 28, 28) float32 in [0, 1], int64 labels 0..9, all 1,797 images split 80/20."""
    for ds in (offline_train, offline_val):
        assert ds.images.dtype == torch.float32 and ds.images.shape[1:] == (1, 28, 28)
        assert ds.labels.dtype == torch.int64 and ds.labels.shape == (len(ds),)
        assert float(ds.images.min()) == 0.0 and float(ds.images.max()) == 1.0
        assert ds.source == "offline" and ds.class_names == tuple("0123456789")
        assert set(ds.labels.tolist()) == set(range(10))
    assert len(offline_train) + len(offline_val) == 1797
    assert abs(len(offline_val) / 1797 - 0.2) < 0.01


def test_offline_split_is_fixed_stratified_and_disjoint(offline_train, offline_val):
    """The split is the same every call, every class is 20% val, and no image is in both splits."""
    again = hwlib.load_digits("offline", "val")
    torch.testing.assert_close(again.images, offline_val.images)
    counts_val = torch.bincount(offline_val.labels, minlength=10).float()
    counts_all = counts_val + torch.bincount(offline_train.labels, minlength=10).float()
    assert torch.all((counts_val / counts_all - 0.2).abs() < 0.02)
    train_flat = offline_train.images.flatten(1)
    val_flat = offline_val.images.flatten(1)
    assert torch.cdist(val_flat[:50], train_flat).min() > 0  # sklearn's digits have no exact duplicates


def test_offline_digits_sit_like_mnist(offline_train):
    """The digit fills a centred 20x20 box: the 4-pixel border is black, the centre is bright on average."""
    x = offline_train.images
    assert float(x[..., :4, :].abs().max()) == 0.0 and float(x[..., -4:, :].abs().max()) == 0.0
    assert float(x[..., :, :4].abs().max()) == 0.0 and float(x[..., :, -4:].abs().max()) == 0.0
    assert 0.08 < float(x.mean()) < 0.25  # MNIST's mean intensity is 0.13


def test_upsampling_preserves_the_digit():
    """Downsampling the 28x28 digit back to 8x8 correlates > 0.9 with the original scikit-learn image."""
    from sklearn.datasets import load_digits as sk

    small = sk().images[:100]
    big = digits.upsample_digits(small)
    back = torch.nn.functional.interpolate(big[..., 4:24, 4:24], size=(8, 8), mode="area").flatten(1)
    expected = torch.as_tensor(small / 16.0, dtype=torch.float32).flatten(1)
    back, expected = back - back.mean(1, keepdim=True), expected - expected.mean(1, keepdim=True)
    corr = (back * expected).sum(1) / (back.norm(dim=1) * expected.norm(dim=1))
    assert float(corr.min()) > 0.9
    shuffled = (back * expected.roll(1, 0)).sum(1) / (back.norm(dim=1) * expected.roll(1, 0).norm(dim=1))
    assert float(shuffled.mean()) < 0.6  # another digit does not correlate as well


def test_is_a_torch_dataset(offline_val):
    """A DataLoader batches it into (images (B, 1, 28, 28), labels (B,))."""
    image, label = offline_val[5]
    assert image.shape == (1, 28, 28) and int(label) == int(offline_val.labels[5])
    x, y = next(iter(torch.utils.data.DataLoader(offline_val, batch_size=8)))
    assert x.shape == (8, 1, 28, 28) and y.shape == (8,)
    with pytest.raises(Exception):
        offline_val.source = "online"  # frozen


def test_bad_split_and_source_are_clear_errors():
    """split and source name what was expected."""
    with pytest.raises(ValueError, match="'train' or 'val'"):
        hwlib.load_digits("offline", "test")
    with pytest.raises(ValueError, match="expected one of"):
        hwlib.load_digits("mnist")


def test_online_without_cache_or_network_is_a_clear_error(empty_cache):
    """Online MNIST offline: a clear error naming the file; auto falls back to offline and says so."""
    with pytest.raises(hwlib.OfflineError, match="train-images-idx3-ubyte.gz"):
        hwlib.load_digits("online")
    with pytest.warns(UserWarning, match="falling back to the offline digits"):
        assert hwlib.load_digits("auto", "val").source == "offline"


def _write_idx(path, magic, array):
    header = np.array([magic, *array.shape], dtype=">i4").tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_online_reads_cached_mnist_idx_files(empty_cache, monkeypatch):
    """The idx parser: uint8 pixels / 255 as (N, 1, 28, 28), labels int64, from the cache without network."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(5, 28, 28))
    labels = np.array([3, 1, 4, 1, 5])
    (img, _), (lab, _) = digits.MNIST_FILES["val"]
    md5_img = _write_idx(empty_cache / "mnist" / img, 2051, images)
    md5_lab = _write_idx(empty_cache / "mnist" / lab, 2049, labels)
    monkeypatch.setitem(digits.MNIST_FILES, "val", ((img, md5_img), (lab, md5_lab)))
    ds = hwlib.load_digits("online", "val")
    assert ds.source == "online" and len(ds) == 5
    torch.testing.assert_close(ds.images[:, 0], torch.as_tensor(images / 255.0, dtype=torch.float32))
    assert ds.labels.tolist() == labels.tolist() and ds.labels.dtype == torch.int64


def test_online_corrupt_cache_is_removed_with_a_clear_error(empty_cache):
    """A cached file whose md5 does not match MNIST's is deleted and reported."""
    (img, _), _ = digits.MNIST_FILES["val"]
    _write_idx(empty_cache / "mnist" / img, 2051, np.zeros((2, 28, 28)))
    with pytest.raises(hwlib.OfflineError, match="corrupt"):
        hwlib.load_digits("online", "val")
    assert not (empty_cache / "mnist" / img).exists()


def test_assets_list_matches_online_files():
    """DIGITS_ASSETS names the four MNIST files in the cache layout fetch uses."""
    names = {f for _, f in hwlib.DIGITS_ASSETS}
    assert names == {"mnist/" + n for pair in digits.MNIST_FILES.values() for n, _ in pair}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert hwlib.resolve_source("offline", assets=hwlib.DIGITS_ASSETS) == "offline"


# ---------------------------------------------------------------------------------------------- models
def test_digit_models_shapes_and_seeds():
    """Both models map (N, 1, 28, 28) to (N, 10); the same seed gives the same weights; the global RNG is untouched."""
    x = torch.rand(3, 1, 28, 28)
    for make in (digit_linear, digit_cnn):
        state = torch.random.get_rng_state()
        a, b, c = make(0), make(0), make(1)
        assert torch.equal(torch.random.get_rng_state(), state)
        assert a(x).shape == (3, 10)
        for pa, pb, pc in zip(a.parameters(), b.parameters(), c.parameters()):
            assert torch.equal(pa, pb) and not torch.equal(pa, pc)
        with pytest.raises(TypeError, match="seed"):
            make("0")


def test_linear_logit_gradient_is_the_weight_row():
    """Known answer: for Linear(28*28, 10) the gradient of logit c w.r.t. the image is weight row c, whatever the
    image (the seed article's point about linear models)."""
    model = digit_linear(0)
    for seed in (0, 1):
        x = torch.rand(1, 1, 28, 28, generator=torch.Generator().manual_seed(seed)).requires_grad_(True)
        (g,) = torch.autograd.grad(model(x)[0, 7], x)
        torch.testing.assert_close(g.view(-1), model[1].weight[7])


def test_cnn_is_small_and_mode_independent():
    """The CNN has no dropout or batch norm (train and eval mode compute the same) and about 20k weights."""
    model = digit_cnn(0)
    x = torch.rand(4, 1, 28, 28)
    torch.testing.assert_close(model.train()(x), model.eval()(x))
    assert 15_000 < sum(p.numel() for p in model.parameters()) < 25_000


def test_online_unreadable_cached_file_is_removed_with_a_clear_error(empty_cache, monkeypatch):
    """A cached file with MNIST's checksum but not an idx file (here: a wrong magic number) is removed and
    reported; the next run downloads it anew."""
    (img, _), (lab, _) = digits.MNIST_FILES["val"]
    md5_img = _write_idx(empty_cache / "mnist" / img, 2049, np.zeros((2, 28, 28)))      # labels' magic
    md5_lab = _write_idx(empty_cache / "mnist" / lab, 2049, np.zeros(2))
    monkeypatch.setitem(digits.MNIST_FILES, "val", ((img, md5_img), (lab, md5_lab)))
    with pytest.raises(hwlib.OfflineError, match="corrupt and was removed"):
        hwlib.load_digits("online", "val")
    assert not (empty_cache / "mnist" / img).exists()


def test_bundled_digits_read_without_sklearn_equal_sklearns_own_loader():
    """The digits file read directly is what scikit-learn's loader returns (the oracle), bit for bit."""
    from sklearn.datasets import load_digits

    images, labels = digits.sklearn_digits()
    bunch = load_digits()
    assert images.shape == (1797, 8, 8) and labels.dtype == np.int64
    np.testing.assert_array_equal(images, bunch.images)
    np.testing.assert_array_equal(labels, bunch.target)


def test_bundled_digits_fall_back_to_sklearns_loader_when_the_file_is_missing(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec("sklearn")
    monkeypatch.setattr(digits.importlib.util, "find_spec", lambda name: None if name == "sklearn" else real)
    images, labels = digits.sklearn_digits()
    assert images.shape == (1797, 8, 8) and labels.shape == (1797,)


def test_offline_digits_do_not_import_sklearn():
    import subprocess
    import sys

    code = ("import sys; from hwlib.datasets.digits import load_digits; load_digits('offline', 'val'); "
            "print('sklearn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stderr[-2000:]
