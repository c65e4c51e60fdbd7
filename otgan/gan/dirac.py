"""The Dirac-GAN of Mescheder et al. (2018): vector fields and trajectories.

Data ``delta_0`` on the real line, generator ``p_theta = delta_theta``, linear discriminator
``D_psi(x) = psi x``. Mescheder et al. write every objective as

``L(theta, psi) = f(D_psi(theta)) + f(-D_psi(0))``, maximised in ``psi``, minimised in ``theta``,

so their ``D`` is *large on generated samples*. Our losses (:mod:`otgan.gan.losses`) use the
opposite sign convention (logits large on data), so the discriminator handed to our losses is
``x -> -psi x``; with this one sign the fields computed by autograd from our losses are the
paper's fields in the paper's coordinates ``(theta, psi)``.

The gradient vector field of the game is ``v(theta, psi) = (-dL_G/dtheta, -dL_D/dpsi)`` where
``L_G``, ``L_D`` are the two players' losses to minimise. Closed forms (``f(t) = -log(1 +
exp(-t))``, ``f'(t) = sigmoid(-t)``):

===========  ==============================================================
``"gan"``    ``(-psi f'(psi theta), theta f'(psi theta))``
``"nsgan"``  ``(-psi f'(-psi theta), theta f'(psi theta))``
``"wgan"``   ``(-psi, theta)``
``"wgan-gp"`` ``(-psi, theta - 2 lam sign(psi) (|psi| - 1))`` for the penalty
             ``lam E[(||grad D|| - 1)^2]`` (Mescheder et al. write ``gamma/2 (...)^2``, i.e.
             ``gamma = 2 lam``)
``"r1"``     ``(-psi f'(psi theta), theta f'(psi theta) - gamma psi)`` for the R1 penalty
             ``gamma/2 E||grad D(y)||^2`` (factor gamma/2 as in the paper)
===========  ==============================================================

References
----------
Mescheder, Geiger, Nowozin (2018). Which training methods for GANs do actually converge? ICML.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .._utils import check_choice
from .losses import critic_loss, discriminator_loss, generator_loss, wgan_generator_loss
from .penalties import gradient_penalty, r1_penalty

__all__ = ["LOSSES", "Trajectory", "closed_form_field", "trajectory", "vector_field"]

#: losses with a Dirac-GAN field
LOSSES = ("gan", "nsgan", "wgan", "wgan-gp", "r1")


def _field_scalar(loss, theta, psi, lam, gamma):
    th = torch.tensor(float(theta), dtype=torch.float64, requires_grad=True)
    ps = torch.tensor(float(psi), dtype=torch.float64, requires_grad=True)

    def critic(x):  # our convention: large on data
        return -ps * x.reshape(-1)

    fake = th.reshape(1, 1)
    real = torch.zeros(1, 1, dtype=torch.float64)
    if loss in ("gan", "nsgan", "r1"):
        d_loss = discriminator_loss(critic(real), critic(fake.detach()))
        if loss == "r1":
            d_loss = d_loss + r1_penalty(critic, real, gamma=gamma)
        g_loss = generator_loss(critic(fake), saturating=(loss != "nsgan"))
    else:
        d_loss = critic_loss(critic(real), critic(fake.detach()))
        if loss == "wgan-gp":
            d_loss = d_loss + lam * gradient_penalty(critic, real, fake.detach(), rng=0)
        g_loss = wgan_generator_loss(critic(fake))
    (g_theta,) = torch.autograd.grad(g_loss, th)
    (g_psi,) = torch.autograd.grad(d_loss, ps)
    return -float(g_theta), -float(g_psi)


def vector_field(loss: str, theta, psi, *, lam: float = 1.0, gamma: float = 1.0):
    """Compute the Dirac-GAN gradient vector field ``v = (-dL_G/dtheta, -dL_D/dpsi)`` by autograd.

    The two players' losses are built from :mod:`otgan.gan.losses` and
    :mod:`otgan.gan.penalties` (no closed form involved), with the critic ``x -> -psi x`` (see
    the module docstring for the sign).

    Parameters
    ----------
    loss : {"gan", "nsgan", "wgan", "wgan-gp", "r1"}
        The game.
    theta, psi : float or array_like (same shape)
        Points where the field is evaluated.
    lam : float
        Gradient-penalty weight (``lam E[(||grad D|| - 1)^2]``).
    gamma : float
        R1 weight (``gamma/2 E||grad D||^2``).

    Returns
    -------
    (v_theta, v_psi) : ndarrays of the shape of ``theta`` (floats for scalar input)
    """
    check_choice(loss, "loss", LOSSES, "gan.dirac.vector_field")
    th = np.asarray(theta, dtype=np.float64)
    ps = np.asarray(psi, dtype=np.float64)
    if th.shape != ps.shape:
        raise ValueError(f"gan.dirac.vector_field: 'theta' {th.shape} and 'psi' {ps.shape} "
                         "must have the same shape")
    vt = np.empty_like(th)
    vp = np.empty_like(ps)
    for idx in np.ndindex(th.shape):
        vt[idx], vp[idx] = _field_scalar(loss, th[idx], ps[idx], lam, gamma)
    if th.ndim == 0:
        return float(vt), float(vp)
    return vt, vp


def _fprime(t):
    # f(t) = -log(1 + exp(-t)),  f'(t) = 1 / (1 + exp(t)) = sigmoid(-t)
    return 0.5 * (1.0 - np.tanh(0.5 * t))


def closed_form_field(loss: str, theta, psi, *, lam: float = 1.0, gamma: float = 1.0):
    """Compute the Dirac-GAN vector fields in closed form (Mescheder et al. 2018, Sections 2-3).

    The conventions of :func:`vector_field` (see the table in the module docstring);
    ``sign(0) = 0`` for WGAN-GP.

    Parameters
    ----------
    loss, theta, psi, lam, gamma
        As for :func:`vector_field`.

    Returns
    -------
    (v_theta, v_psi) : ndarrays of the broadcast shape (floats for scalar input)
    """
    check_choice(loss, "loss", LOSSES, "gan.dirac.closed_form_field")
    th = np.asarray(theta, dtype=np.float64)
    ps = np.asarray(psi, dtype=np.float64)
    if loss == "gan":
        vt, vp = -ps * _fprime(ps * th), th * _fprime(ps * th)
    elif loss == "nsgan":
        vt, vp = -ps * _fprime(-ps * th), th * _fprime(ps * th)
    elif loss == "wgan":
        vt, vp = -ps, th.copy()
    elif loss == "wgan-gp":
        vt, vp = -ps, th - 2.0 * lam * np.sign(ps) * (np.abs(ps) - 1.0)
    else:  # r1
        vt, vp = -ps * _fprime(ps * th), th * _fprime(ps * th) - gamma * ps
    vt, vp = np.broadcast_arrays(vt, vp)
    if th.ndim == 0 and ps.ndim == 0:
        return float(vt), float(vp)
    return np.array(vt), np.array(vp)


@dataclass(frozen=True)
class Trajectory:
    """Iterates of a Dirac-GAN training run: ``theta[k], psi[k]`` for ``k = 0..n_steps``.

    Attributes
    ----------
    theta, psi : numpy.ndarray, shape (n_steps + 1,)
        The iterates.
    mode : str
        ``"simultaneous"`` or ``"alternating"``.
    step : float
        The step size.
    """

    theta: np.ndarray
    psi: np.ndarray
    mode: str
    step: float


def trajectory(loss: str, *, theta0: float = 1.0, psi0: float = 1.0, step: float = 0.2,
               n_steps: int = 100, mode: str = "simultaneous", lam: float = 1.0,
               gamma: float = 1.0) -> Trajectory:
    """Gradient-descent trajectory of the Dirac-GAN (autograd field of :func:`vector_field`).

    ``mode="simultaneous"``: ``(theta, psi) <- (theta, psi) + step v(theta, psi)``;
    ``mode="alternating"``: ``theta <- theta + step v_theta(theta, psi)``, then
    ``psi <- psi + step v_psi(theta_new, psi)``. Defaults (start (1, 1), step 0.2) are the
    paper's.

    Parameters
    ----------
    loss : {"gan", "nsgan", "wgan", "wgan-gp", "r1"}
        The game.
    theta0, psi0 : float
        The start.
    step : float
        The step size.
    n_steps : int
        Number of steps.
    mode : {"simultaneous", "alternating"}
        The update order.
    lam, gamma : float
        Gradient-penalty and R1 weights (as for :func:`vector_field`).

    Returns
    -------
    Trajectory
        ``theta`` and ``psi`` of shape ``(n_steps + 1,)``, the mode and the step.
    """
    where = "gan.dirac.trajectory"
    check_choice(loss, "loss", LOSSES, where)
    if mode not in ("simultaneous", "alternating"):
        raise ValueError(f"{where}: 'mode' must be 'simultaneous' or 'alternating'; got {mode!r}")
    if not (isinstance(n_steps, (int, np.integer)) and n_steps >= 0):
        raise ValueError(f"{where}: 'n_steps' must be a non-negative integer; got {n_steps!r}")
    th = np.empty(n_steps + 1)
    ps = np.empty(n_steps + 1)
    th[0], ps[0] = theta0, psi0
    for k in range(n_steps):
        vt, vp = _field_scalar(loss, th[k], ps[k], lam, gamma)
        th[k + 1] = th[k] + step * vt
        if mode == "alternating":
            vp = _field_scalar(loss, th[k + 1], ps[k], lam, gamma)[1]
        ps[k + 1] = ps[k] + step * vp
    return Trajectory(theta=th, psi=ps, mode=mode, step=float(step))
