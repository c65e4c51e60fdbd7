"""Lipschitz constraints and regularisers of discriminators / critics (torch).

- :func:`clip_weights`: Arjovsky et al. (2017) weight clipping, ``w <- clamp(w, -c, c)``.
- :func:`interpolates`: points ``a = (1 - u) x + u y``, ``u ~ U(0, 1)``, on segments joining
  generated points ``x`` and data ``y`` (matched pairs, or all ``m x n`` pairs as the lecture's
  ``lipconstant``).
- :func:`gradient_penalty`: Gulrajani et al. (2017) ``E[(||grad D(a)|| - 1)^2]`` (two-sided) or
  ``E[(||grad D(a)|| - 1)_+^2]`` (one-sided), *without* the weight ``lambda`` (the caller
  multiplies).
- :func:`r1_penalty`, :func:`r2_penalty`: Mescheder et al. (2018) ``gamma/2 E||grad D(y)||^2``
  on data (R1) or on generated samples (R2). **The factor is gamma/2**, as in the paper.
- :func:`lipschitz_estimate`: mean and max of ``||grad D||`` on random points of segments.
- :func:`spectral_normalize`: spectral normalisation (Miyato et al. 2018) of every linear and
  convolutional layer through ``torch.nn.utils.parametrizations.spectral_norm``.

Gradients are taken with respect to the *input* ``x`` of the discriminator (not its parameters).
The discriminator is any callable ``D(x) -> (n,)`` or ``(n, 1)`` tensor (an ``nn.Module`` or a
closure).

References
----------
Arjovsky, Chintala, Bottou (2017). Wasserstein GAN.
Gulrajani, Ahmed, Arjovsky, Dumoulin, Courville (2017). Improved training of Wasserstein GANs.
Mescheder, Geiger, Nowozin (2018). Which training methods for GANs do actually converge?
Miyato, Kataoka, Koyama, Yoshida (2018). Spectral normalization for generative adversarial networks.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .._utils import check_real, check_tensor, torch_generator

__all__ = [
    "LipschitzEstimate",
    "clip_weights",
    "gradient_penalty",
    "input_gradient",
    "interpolates",
    "lipschitz_estimate",
    "r1_penalty",
    "r2_penalty",
    "spectral_normalize",
]


def _gen(rng, device):
    if isinstance(rng, torch.Generator) and rng.device.type == torch.device(device).type:
        return rng
    return torch_generator(rng, device)


def clip_weights(module: nn.Module, clip: float) -> nn.Module:
    """Clamp every parameter of ``module`` to ``[-clip, clip]`` in place (WGAN weight clipping).

    Parameters
    ----------
    module : torch.nn.Module
        The critic.
    clip : float
        The bound (Arjovsky et al. (2017) use 0.01).

    Returns
    -------
    torch.nn.Module
        ``module``.
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"gan.clip_weights: 'module' must be a torch.nn.Module; "
                        f"got {type(module).__name__}")
    clip = check_real(clip, "clip", "gan.clip_weights", positive=True)
    with torch.no_grad():
        for p in module.parameters():
            p.clamp_(-clip, clip)
    return module


def interpolates(x: torch.Tensor, y: torch.Tensor, *, pairs: str = "matched",
                 rng=None) -> torch.Tensor:
    """Random points on segments ``[x_i, y_j]``: ``a = (1 - u) x_i + u y_j``, ``u ~ U(0, 1)``.

    Parameters
    ----------
    x : Tensor, shape (m, ...)
        Generated points.
    y : Tensor, shape (n, ...)
        Data points.
    pairs : {"matched", "all"}
        ``"matched"`` (needs ``m == n``): one point per pair ``(x_i, y_i)`` -> ``(m, ...)``;
        ``"all"``: one point per pair ``(x_i, y_j)`` -> ``(m * n, ...)``, row ``i * n + j``, as
        the lecture's ``lipconstant``.
    rng : None, int, numpy or torch Generator
        Source of ``u`` (a torch Generator on the device of ``x`` is used as is).

    Returns
    -------
    Tensor, shape (m, ...) or (m * n, ...)
        The points.
    """
    where = "gan.interpolates"
    x = check_tensor(x, "x", where, rows=True)
    y = check_tensor(y, "y", where, rows=True)
    if x.shape[1:] != y.shape[1:]:
        raise ValueError(f"{where}: 'x' {tuple(x.shape)} and 'y' {tuple(y.shape)} must have the "
                         "same shape beyond the first axis")
    gen = _gen(rng, x.device)
    tail = (1,) * (x.ndim - 1)
    if pairs == "matched":
        if x.shape[0] != y.shape[0]:
            raise ValueError(f"{where}: pairs='matched' needs as many 'x' as 'y'; got "
                             f"{x.shape[0]} and {y.shape[0]} (use pairs='all')")
        u = torch.rand((x.shape[0],) + tail, generator=gen, device=x.device, dtype=x.dtype)
        return (1 - u) * x + u * y
    if pairs == "all":
        m, n = x.shape[0], y.shape[0]
        u = torch.rand((m, n) + tail, generator=gen, device=x.device, dtype=x.dtype)
        a = (1 - u) * x[:, None] + u * y[None, :]
        return a.flatten(end_dim=1)
    raise ValueError(f"{where}: 'pairs' must be 'matched' or 'all'; got {pairs!r}")


def input_gradient(critic, x: torch.Tensor, *, create_graph: bool = True) -> torch.Tensor:
    """Compute ``grad_x D(x)`` for each row, by autograd (``D`` summed over rows).

    Parameters
    ----------
    critic : callable
        ``D``: points ``(n, ...)`` to values ``(n,)`` or ``(n, 1)``.
    x : Tensor, shape (n, ...)
        Points.
    create_graph : bool
        Keep the graph (to differentiate the gradient, as penalties do).

    Returns
    -------
    Tensor
        The gradients, of the shape of ``x``.
    """
    x = check_tensor(x, "x", "gan.input_gradient", rows=True)
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        out = critic(x)
        (g,) = torch.autograd.grad(out.sum(), x, create_graph=create_graph)
    return g


def _norms(g):
    return g.flatten(start_dim=1).norm(dim=1)


def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor, *, one_sided: bool = False,
                     pairs: str = "matched", target: float = 1.0, rng=None) -> torch.Tensor:
    """Gulrajani et al.'s gradient penalty, differentiable in the critic's parameters.

    ``E[(||grad D(a)|| - target)^2]`` (two-sided) or ``E[max(||grad D(a)|| - target, 0)^2]``
    (one-sided), with ``a`` uniform on segments joining ``fake`` and ``real`` (see
    :func:`interpolates`). Multiply by the weight ``lambda`` (10 in the paper) yourself.

    Parameters
    ----------
    critic : callable
        ``D`` (an ``nn.Module`` or a closure).
    real, fake : Tensor, shape (n, ...)
        Data and generated points.
    one_sided : bool
        Penalise only norms above ``target``.
    pairs : {"matched", "all"}
        Segments of matched rows (the paper) or of all pairs.
    target : float
        The norm aimed at (1: 1-Lipschitz).
    rng : None, int, numpy or torch Generator
        Source of the interpolation weights.

    Returns
    -------
    Tensor
        The penalty (0-dim), differentiable in the critic's parameters.

    Examples
    --------
    A linear critic with a unit-norm weight has ``||grad D|| = 1`` everywhere:

    >>> import torch
    >>> w = torch.tensor([0.6, 0.8])
    >>> gp = gradient_penalty(lambda x: x @ w, torch.randn(5, 2), torch.randn(5, 2))
    >>> round(float(gp), 6)
    0.0
    """
    a = interpolates(fake, real, pairs=pairs, rng=rng)
    norms = _norms(input_gradient(critic, a, create_graph=True))
    dev = norms - target
    if one_sided:
        dev = dev.clamp_min(0.0)
    return (dev * dev).mean()


def _r(critic, pts, gamma, name):
    gamma = check_real(gamma, "gamma", f"gan.{name}", nonnegative=True)
    g = input_gradient(critic, pts, create_graph=True)
    return 0.5 * gamma * (g.flatten(start_dim=1) ** 2).sum(1).mean()


def r1_penalty(critic, real: torch.Tensor, *, gamma: float = 1.0) -> torch.Tensor:
    """Compute the R1 regulariser (Mescheder et al. 2018): ``gamma/2 E_{y~data}[||grad D(y)||^2]``.

    Parameters
    ----------
    critic : callable
        ``D``.
    real : Tensor, shape (n, ...)
        Data points.
    gamma : float
        The weight (the factor is ``gamma / 2``, as in the paper).

    Returns
    -------
    Tensor
        The penalty (0-dim), differentiable in the critic's parameters.
    """
    real = check_tensor(real, "real", "gan.r1_penalty", rows=True)
    return _r(critic, real, gamma, "r1_penalty")


def r2_penalty(critic, fake: torch.Tensor, *, gamma: float = 1.0) -> torch.Tensor:
    """Compute the R2 regulariser: ``gamma/2 E_{x ~ mu_theta}[||grad D(x)||^2]`` (on fakes).

    Parameters
    ----------
    critic : callable
        ``D``.
    fake : Tensor, shape (n, ...)
        Generated points.
    gamma : float
        The weight (the factor is ``gamma / 2``).

    Returns
    -------
    Tensor
        The penalty (0-dim), differentiable in the critic's parameters.
    """
    fake = check_tensor(fake, "fake", "gan.r2_penalty", rows=True)
    return _r(critic, fake, gamma, "r2_penalty")


@dataclass(frozen=True)
class LipschitzEstimate:
    """Mean and max of ``||grad D||`` over the sampled points.

    Attributes
    ----------
    mean : float
        The mean norm.
    max : float
        The largest norm: a lower bound of the Lipschitz constant of ``D``.
    """

    mean: float
    max: float


def lipschitz_estimate(critic, x: torch.Tensor, y: torch.Tensor, *, pairs: str = "all",
                       rng=None) -> LipschitzEstimate:
    """Estimate the Lipschitz constant of ``critic`` on segments ``[x_i, y_j]``.

    As the lecture's ``lipconstant``: sample ``a_ij = (1 - u_ij) x_i + u_ij y_j`` and return the
    mean and the max of ``||grad D(a_ij)||`` (no graph is kept).

    Parameters
    ----------
    critic : callable
        ``D``.
    x, y : Tensor, shapes (m, ...) and (n, ...)
        Ends of the segments (generated and data points).
    pairs : {"all", "matched"}
        Segments of all pairs, or of matched rows (see :func:`interpolates`).
    rng : None, int, numpy or torch Generator
        Source of the interpolation weights.

    Returns
    -------
    LipschitzEstimate
        The mean and the max.
    """
    a = interpolates(x, y, pairs=pairs, rng=rng)
    norms = _norms(input_gradient(critic, a, create_graph=False))
    return LipschitzEstimate(mean=float(norms.mean()), max=float(norms.max()))


def spectral_normalize(module: nn.Module, *, n_power_iterations: int = 1) -> nn.Module:
    """Apply spectral normalisation to every ``Linear`` and ``Conv*`` layer of ``module``.

    Each weight ``W`` is reparametrised as ``W / sigma(W)`` with ``sigma`` the largest singular
    value estimated by power iteration (Miyato et al. 2018), through
    ``torch.nn.utils.parametrizations.spectral_norm``.

    Parameters
    ----------
    module : torch.nn.Module
        The network (modified in place).
    n_power_iterations : int
        Power iterations per forward pass.

    Returns
    -------
    torch.nn.Module
        ``module``.
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"gan.spectral_normalize: 'module' must be a torch.nn.Module; "
                        f"got {type(module).__name__}")
    from torch.nn.utils.parametrizations import spectral_norm

    layers = [m for m in module.modules()
              if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d))]
    for m in layers:
        spectral_norm(m, n_power_iterations=n_power_iterations)
    return module
