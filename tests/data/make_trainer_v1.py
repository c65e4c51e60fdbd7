"""How ``trainer_v1_*.pt`` were written: checkpoints of format version 1 (before the data
fingerprint), by otgan at commit 32af808, and the state two iterations after each.

Run from a checkout of that commit: ``python tests/data/make_trainer_v1.py tests/data``.
``tests/test_gan_checkpoint.py`` builds the same trainers (:func:`trainer_kwargs`).
"""

import sys
from pathlib import Path

import numpy as np
import torch


def trainer_kwargs(loss):
    """The options of the trainers whose checkpoints are stored (a small generator)."""
    from otgan.gan import MLPGenerator

    torch.manual_seed(0)
    steps = {"n_inner": 3} if loss == "sdwgan" else {"n_critic": 2}
    return dict(loss=loss, generator=MLPGenerator(3, 2, hidden=(8,)), seed=11, batch_size=16,
                eval_every=2, eval_size=30, snapshot_at=(1, 4), **steps)


def flat(module):
    """The parameters of ``module`` as one float64 vector."""
    return np.concatenate([p.detach().double().numpy().ravel() for p in module.parameters()])


def main(out):
    from otgan.datasets import six_points
    from otgan.gan.trainer import Trainer

    torch.set_num_threads(1)
    for loss in ("sdwgan", "wgan-gp"):
        tr = Trainer(six_points(), **trainer_kwargs(loss)).run(2)
        tr.save(out / f"trainer_v1_{loss}.pt")
        tr.run(2)
        h = tr.history
        more = ({"psi": tr.psi.double().numpy()} if tr.psi is not None
                else {"dparams": flat(tr.discriminator)})
        np.savez(out / f"trainer_v1_{loss}_continued.npz", params=flat(tr.generator),
                 g_loss=h.g_loss, d_loss=h.d_loss, w2=h.w2, **more)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
