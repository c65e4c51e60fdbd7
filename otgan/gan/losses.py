"""Adversarial losses on discriminator outputs (torch tensors).

Convention: every loss here is a quantity to **minimise** by the player it belongs to, and the
discriminator outputs **logits** ``l = D(x)`` (its probability of "real" is ``sigmoid(l)``), so
that no ``log(0)`` occurs; WGAN critics output raw values.

With ``sigma`` the sigmoid, ``log sigma(l) = -softplus(-l)`` and ``log(1 - sigma(l)) =
-softplus(l)``:

- :func:`discriminator_loss` (binary cross-entropy, Goodfellow et al. 2014):
  ``-E[log sigma(D(y))] - E[log(1 - sigma(D(g(z))))] = E[softplus(-D(y))] + E[softplus(D(g(z)))]``;
  its minimum over all D is ``log 4 - 2 JS(nu, mu_theta)``.
- :func:`generator_loss` saturating: ``E[log(1 - sigma(D(g(z))))] = -E[softplus(D(g(z)))]``;
  non-saturating: ``-E[log sigma(D(g(z)))] = E[softplus(-D(g(z)))]``.
- :func:`critic_loss` (WGAN, Arjovsky et al. 2017): ``-(E[D(y)] - E[D(g(z))])``.
- :func:`wgan_generator_loss`: ``-E[D(g(z))]``.

References
----------
Goodfellow et al. (2014). Generative adversarial nets.
Arjovsky, Chintala, Bottou (2017). Wasserstein generative adversarial networks.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .._utils import check_tensor

__all__ = ["critic_loss", "discriminator_loss", "generator_loss", "wgan_generator_loss"]


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of the GAN discriminator, on logits (to minimise).

    ``E[softplus(-l_real)] + E[softplus(l_fake)]``
    ``= -E[log sigma(l_real)] - E[log(1 - sigma(l_fake))]``.

    Parameters
    ----------
    real_logits, fake_logits : Tensor, any shape
        ``D(y)`` on data and ``D(g(z))`` on generated samples (logits).

    Returns
    -------
    Tensor, scalar

    Examples
    --------
    >>> import torch
    >>> round(float(discriminator_loss(torch.zeros(3), torch.zeros(2))), 6)  # 2 log 2
    1.386294
    """
    where = "gan.discriminator_loss"
    real_logits = check_tensor(real_logits, "real_logits", where, nonempty=True)
    fake_logits = check_tensor(fake_logits, "fake_logits", where, nonempty=True)
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def generator_loss(fake_logits: torch.Tensor, *, saturating: bool = False) -> torch.Tensor:
    """GAN generator loss on the discriminator's logits (to minimise).

    - ``saturating=True``: the min-max loss ``E[log(1 - sigma(l))] = -E[softplus(l)]``;
      its gradient vanishes where the discriminator rejects the samples (``l -> -inf``).
    - ``saturating=False`` (default): the non-saturating loss ``-E[log sigma(l)] =
      E[softplus(-l)]`` of Goodfellow et al. (2014).

    Parameters
    ----------
    fake_logits : Tensor, any shape
        ``D(g(z))`` on generated samples (logits).
    saturating : bool
        The min-max loss instead of the non-saturating one.

    Returns
    -------
    Tensor, scalar
    """
    fake_logits = check_tensor(fake_logits, "fake_logits", "gan.generator_loss",
                               nonempty=True)
    if saturating:
        return -F.softplus(fake_logits).mean()
    return F.softplus(-fake_logits).mean()


def critic_loss(real_values: torch.Tensor, fake_values: torch.Tensor) -> torch.Tensor:
    """WGAN critic loss (to minimise): ``-(E[D(y)] - E[D(g(z))])``.

    Its minimum over 1-Lipschitz critics is ``-W1(nu, mu_theta)`` (Kantorovich-Rubinstein).

    Parameters
    ----------
    real_values, fake_values : Tensor, any shape
        ``D(y)`` on data and ``D(g(z))`` on generated samples.

    Returns
    -------
    Tensor, scalar
    """
    where = "gan.critic_loss"
    real_values = check_tensor(real_values, "real_values", where, nonempty=True)
    fake_values = check_tensor(fake_values, "fake_values", where, nonempty=True)
    return fake_values.mean() - real_values.mean()


def wgan_generator_loss(fake_values: torch.Tensor) -> torch.Tensor:
    """WGAN generator loss (to minimise): ``-E[D(g(z))]``.

    Parameters
    ----------
    fake_values : Tensor, any shape
        ``D(g(z))`` on generated samples.

    Returns
    -------
    Tensor, scalar
    """
    fake_values = check_tensor(fake_values, "fake_values", "gan.wgan_generator_loss",
                               nonempty=True)
    return -fake_values.mean()
