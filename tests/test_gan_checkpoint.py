"""Trainer checkpoints (otgan.gan.checkpoint): the data fingerprint refuses other data, an
identical data set resumes bit for bit, and checkpoints of format version 1 still load."""

from pathlib import Path

import numpy as np
import pytest
import torch

from otgan import errors, gan
from otgan.datasets import six_points
from otgan.gan.checkpoint import CHECKPOINT_VERSION, data_fingerprint, legacy_data_checksum
from tests.data.make_trainer_v1 import flat, trainer_kwargs
from tests.tolerances import F32

pytestmark = pytest.mark.usefixtures("one_torch_thread")

DATA = Path(__file__).parent / "data"
Y = six_points()


def _opts(loss):
    steps = {"n_inner": 2} if loss == "sdwgan" else {"n_critic": 2}
    return dict(loss=loss, seed=3, batch_size=8, eval_every=2, eval_size=20, snapshot_at=(1, 3),
                **steps)


def _other(y):
    """Data sets the fingerprint must tell from ``y``: same shape, other bytes or dtype."""
    changed = y.copy()
    changed[4, 1] = np.nextafter(changed[4, 1], 1.0)  # one value, by one ulp
    return {
        "permuted": (y[[1, 0, 2, 3, 4, 5]], ("data_fingerprint",)),
        "coordinates swapped": (y[:, ::-1].copy(), ("data_fingerprint",)),
        "one value changed": (changed, ("data_fingerprint",)),
        "float32": (y.astype(np.float32), ("data_dtype", "data_fingerprint")),
    }


def test_fingerprint_sees_order_values_dtype_and_shape():
    y = np.arange(12.0).reshape(6, 2)
    fp = data_fingerprint(y)
    assert len(fp) == 64 and int(fp, 16) >= 0
    assert data_fingerprint(y.copy()) == fp
    assert data_fingerprint(torch.tensor(y)) == fp  # the bytes, not the library
    assert data_fingerprint(np.asfortranarray(y)) == fp  # C order whatever the layout
    assert data_fingerprint(y.astype(">f8")) == fp  # byte order normalised
    for other in (y[::-1], y[:, ::-1], y.reshape(4, 3), y.astype(np.float32), y + 1e-300):
        assert data_fingerprint(other) != fp
    # the (sum, sum of squares) of version 1 cannot see a permutation: the fingerprint can
    assert legacy_data_checksum(torch.tensor(y[::-1].copy())) == legacy_data_checksum(
        torch.tensor(y))


@pytest.mark.parametrize("loss", ["sdwgan", "wgan-gp"])
@pytest.mark.parametrize("case", list(_other(Y)))
def test_other_data_are_refused_naming_the_file(tmp_path, loss, case):
    path = tmp_path / f"{loss}.pt"
    gan.Trainer(Y, **_opts(loss)).run(1).save(path)
    data, mismatches = _other(Y)[case]
    with pytest.raises(errors.CheckpointError, match="data_fingerprint: checkpoint") as info:
        gan.Trainer(data, **_opts(loss)).load(path)
    assert str(path) in str(info.value) and info.value.path == str(path)
    assert info.value.mismatches == mismatches


@pytest.mark.parametrize("loss", ["sdwgan", "gan"])
def test_identical_data_resume_bit_for_bit(tmp_path, loss):
    straight = gan.Trainer(Y, **_opts(loss)).run(4)
    first = gan.Trainer(Y, **_opts(loss)).run(2)
    first.save(tmp_path / "ck.pt")
    # a copy of the data, as a tensor of the same dtype: the same bytes
    resumed = gan.Trainer(torch.tensor(Y.copy()), **_opts(loss)).load(tmp_path / "ck.pt").run(2)
    assert resumed.config == straight.config
    np.testing.assert_array_equal(flat(resumed.generator), flat(straight.generator))
    if loss == "sdwgan":
        torch.testing.assert_close(resumed.psi, straight.psi, rtol=0, atol=0)
    else:
        np.testing.assert_array_equal(flat(resumed.discriminator), flat(straight.discriminator))
    for field in ("d_loss", "g_loss", "w2", "lip_mean"):
        np.testing.assert_array_equal(getattr(resumed.history, field),
                                      getattr(straight.history, field))


def test_checkpoints_record_the_current_version(tmp_path):
    state = gan.Trainer(Y, **_opts("gan")).state_dict()
    assert state["version"] == CHECKPOINT_VERSION == 2
    assert state["config"]["data_fingerprint"] == data_fingerprint(Y)
    assert state["config"]["data_dtype"] == "float64"


# ------------------------------------------------------------------ format version 1


@pytest.mark.parametrize("loss", ["sdwgan", "wgan-gp"])
def test_version_1_checkpoint_loads_when_its_checksum_matches(loss):
    """Written by the previous otgan (tests/data/make_trainer_v1.py); resumed here, the run ends
    where the previous otgan's uninterrupted run ended."""
    tr = gan.Trainer(Y, **trainer_kwargs(loss))
    with pytest.warns(UserWarning, match="format version 1.*order of the points"):
        tr.load(DATA / f"trainer_v1_{loss}.pt")
    assert tr.iteration == 2
    tr.run(2)
    want = np.load(DATA / f"trainer_v1_{loss}_continued.npz")
    # the same operations in float32: equal up to the rounding of another torch build
    np.testing.assert_allclose(flat(tr.generator), want["params"], rtol=F32, atol=F32)
    if loss == "sdwgan":
        np.testing.assert_allclose(tr.psi.double().numpy(), want["psi"], rtol=F32, atol=F32)
    else:
        np.testing.assert_allclose(flat(tr.discriminator), want["dparams"], rtol=F32, atol=F32)
    np.testing.assert_allclose(tr.history.w2, want["w2"], rtol=F32)


def test_version_1_checkpoint_of_other_data_is_refused():
    changed = Y.copy()
    changed[2, 0] += 0.01
    path = DATA / "trainer_v1_sdwgan.pt"
    with pytest.raises(errors.CheckpointError, match="data_checksum: checkpoint") as info:
        gan.Trainer(changed, **trainer_kwargs("sdwgan")).load(path)
    assert str(path) in str(info.value) and info.value.mismatches == ("data_checksum",)


# ------------------------------------------------------------------ hostile files and trainers


def _small(loss, **kw):
    steps = {"n_inner": 2} if loss == "sdwgan" else {"n_critic": 1}
    return gan.Trainer(Y, loss=loss, seed=0, batch_size=8, **steps, **kw)


@pytest.mark.hostile
def test_checkpoint_of_another_loss_is_refused(tmp_path):
    path = tmp_path / "gan.pt"
    _small("gan").run(1).save(path)
    with pytest.raises(errors.CheckpointError, match="loss: checkpoint 'gan', this trainer "
                                                     "'wgan-gp'") as info:
        _small("wgan-gp").load(path)
    assert info.value.mismatches == ("loss",) and str(path) in str(info.value)


@pytest.mark.hostile
def test_checkpoint_for_other_data_is_refused(tmp_path):
    path = tmp_path / "sd.pt"
    _small("sdwgan").run(1).save(path)
    other = gan.Trainer(Y[:5], loss="sdwgan", seed=0, batch_size=8, n_inner=2)
    with pytest.raises(errors.CheckpointError, match="data_shape"):
        other.load(path)
    moved = gan.Trainer(Y + 0.01, loss="sdwgan", seed=0, batch_size=8, n_inner=2)
    with pytest.raises(errors.CheckpointError, match="data_fingerprint"):
        moved.load(path)


@pytest.mark.hostile
def test_checkpoint_with_other_hyperparameters_warns(tmp_path):
    path = tmp_path / "g.pt"
    _small("gan").run(1).save(path)
    with pytest.warns(UserWarning, match="batch_size: checkpoint 8, now 16"):
        gan.Trainer(Y, loss="gan", seed=0, batch_size=16, n_critic=1).load(path)


@pytest.mark.hostile
def test_truncated_and_foreign_files_name_the_file(tmp_path):
    good = tmp_path / "good.pt"
    _small("gan").save(good)
    cut = tmp_path / "cut.pt"
    cut.write_bytes(good.read_bytes()[:200])
    with pytest.raises(errors.CheckpointError, match="cut.pt' is not a readable checkpoint"):
        _small("gan").load(cut)
    foreign = tmp_path / "foreign.pt"
    torch.save({"model": 1}, foreign)
    with pytest.raises(errors.CheckpointError, match="foreign.pt' is not a Trainer checkpoint"):
        _small("gan").load(foreign)
    old = _small("gan").state_dict()
    old["version"] = 0
    with pytest.raises(errors.CheckpointError, match="version 0"):
        _small("gan").load_state_dict(old)
    with pytest.raises(FileNotFoundError):
        _small("gan").load(tmp_path / "missing.pt")
