"""Small generators and discriminators (torch ``nn.Module``) with the lectures' defaults.

- :class:`MLPGenerator`: 3 blocks ``Linear + ELU`` on 10-dim Gaussian noise, then a linear layer
  to the data dimension with a sigmoid output (points in ``[0, 1]^d``, the lectures' toy), or a
  linear output for data outside the unit square.
- :class:`MLPDiscriminator`: ``2-10-10-1`` with ``LeakyReLU(0.2)``; it returns **logits** (shape
  ``(n,)``); :meth:`MLPDiscriminator.prob` applies the lectures' sigmoid for the GAN loss. WGAN
  critics use the raw output.
- :class:`ConvGenerator`, :class:`ConvDiscriminator`: a small DCGAN-style pair (Radford et al.
  2016: transposed convolutions, batch norm and ReLU in the generator, strided convolutions and
  LeakyReLU in the discriminator, no batch norm there so that gradient penalties stay per-sample)
  for 8 x 8 and 28 x 28 single-channel digits. Images travel as rows ``(n, s * s)`` in ``[0, 1]``
  so that data sets, transport costs and the semi-discrete WGAN see plain point clouds.

Every generator has ``latent_dim`` and ``out_dim`` attributes and a :meth:`sample` method.
"""

from __future__ import annotations

import torch
from torch import nn

from .._utils import check_choice, check_int, torch_generator

__all__ = [
    "ConvDiscriminator",
    "ConvGenerator",
    "MLPDiscriminator",
    "MLPGenerator",
    "NoisyDataGenerator",
]


class _Sampler:
    latent_dim: int

    def sample(self, n: int, *, rng=None) -> torch.Tensor:
        """Draw ``g(z)`` for ``n`` standard Gaussian latents ``z`` (no graph).

        Parameters
        ----------
        n : int
            How many.
        rng : None, int, numpy.random.Generator or torch.Generator
            Source of the latents.

        Returns
        -------
        torch.Tensor, shape (n, out_dim)
            On the module's device, in its dtype.
        """
        p = next(self.parameters(), None)
        device = p.device if p is not None else torch.device("cpu")
        dtype = p.dtype if p is not None else torch.get_default_dtype()
        gen = rng if isinstance(rng, torch.Generator) else torch_generator(rng, device)
        z = torch.randn(n, self.latent_dim, generator=gen, device=device, dtype=dtype)
        with torch.no_grad():
            return self(z)


class MLPGenerator(_Sampler, nn.Module):
    """Multilayer generator ``z -> x``: blocks ``Linear + ELU`` then ``Linear`` (+ sigmoid).

    Parameters
    ----------
    latent_dim : int, default 10
        Dimension of the Gaussian noise ``z ~ N(0, I)``.
    out_dim : int, default 2
        Dimension of the points.
    hidden : tuple of int, default (64, 64, 64)
        Widths of the ``Linear + ELU`` blocks (the lectures use 3 blocks).
    output : {"sigmoid", "linear"}, default "sigmoid"
        ``"sigmoid"`` keeps samples in ``[0, 1]^d`` (the lectures' toy); use ``"linear"`` for
        Gaussian mixtures and the Swiss roll.
    """

    def __init__(self, latent_dim: int = 10, out_dim: int = 2, *, hidden=(64, 64, 64),
                 output: str = "sigmoid"):
        super().__init__()
        where = "gan.MLPGenerator"
        self.latent_dim = check_int(latent_dim, "latent_dim", where)
        self.out_dim = check_int(out_dim, "out_dim", where)
        if output not in ("sigmoid", "linear"):
            raise ValueError(f"{where}: 'output' must be 'sigmoid' or 'linear'; got {output!r}")
        layers, width = [], self.latent_dim
        for h in hidden:
            layers += [nn.Linear(width, check_int(h, "hidden", where)), nn.ELU()]
            width = int(h)
        layers.append(nn.Linear(width, self.out_dim))
        if output == "sigmoid":
            layers.append(nn.Sigmoid())
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Map latents to points.

        Parameters
        ----------
        z : torch.Tensor, shape (n, latent_dim)
            Latents.

        Returns
        -------
        torch.Tensor, shape (n, out_dim)
        """
        return self.net(z)


class MLPDiscriminator(nn.Module):
    """Multilayer discriminator ``x -> logit``: ``Linear + LeakyReLU`` blocks, ``Linear(., 1)``.

    Defaults give the lectures' ``2-10-10-1`` net with ``LeakyReLU(0.2)``. :meth:`forward` returns
    logits of shape ``(n,)``; :meth:`prob` the lectures' ``sigmoid`` output ``D(x) in (0, 1)``.

    Parameters
    ----------
    in_dim : int, default 2
        Dimension of the points.
    hidden : tuple of int, default (10, 10)
        Widths of the hidden layers.
    slope : float, default 0.2
        Negative slope of the LeakyReLU.
    """

    def __init__(self, in_dim: int = 2, *, hidden=(10, 10), slope: float = 0.2):
        super().__init__()
        where = "gan.MLPDiscriminator"
        self.in_dim = check_int(in_dim, "in_dim", where)
        layers, width = [], self.in_dim
        for h in hidden:
            layers += [nn.Linear(width, check_int(h, "hidden", where)), nn.LeakyReLU(slope)]
            width = int(h)
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Compute the logits.

        Parameters
        ----------
        x : torch.Tensor, shape (n, in_dim)
            Points.

        Returns
        -------
        torch.Tensor, shape (n,)
        """
        return self.net(x).squeeze(-1)

    def prob(self, x: torch.Tensor) -> torch.Tensor:
        """Compute ``sigmoid(D(x))``, the discriminator's probability that ``x`` is real.

        Parameters
        ----------
        x : torch.Tensor, shape (n, in_dim)
            Points.

        Returns
        -------
        torch.Tensor, shape (n,)
        """
        return torch.sigmoid(self(x))


class ConvGenerator(_Sampler, nn.Module):
    """DCGAN-style generator for ``size x size`` single-channel images (size 8 or 28).

    ``z -> Linear -> (2 ch, size/4, size/4) -> ConvT(4, 2, 1) + BN + ReLU -> (ch, size/2, size/2)
    -> ConvT(4, 2, 1) -> sigmoid``; output rows ``(n, size * size)`` in ``[0, 1]``.

    Parameters
    ----------
    size : {8, 28}
        Image side.
    latent_dim : int
        Dimension of the noise.
    channels : int
        Channels ``ch`` of the middle layer.
    batch_norm : bool
        Batch normalisation after the first transposed convolution.
    """

    def __init__(self, size: int = 28, *, latent_dim: int = 32, channels: int = 32,
                 batch_norm: bool = True):
        super().__init__()
        where = "gan.ConvGenerator"
        self.size = check_choice(size, "size", (8, 28), where)
        self.latent_dim = check_int(latent_dim, "latent_dim", where)
        ch = check_int(channels, "channels", where)
        self.out_dim = size * size
        b = size // 4
        self._shape = (2 * ch, b, b)
        self.fc = nn.Sequential(nn.Linear(self.latent_dim, 2 * ch * b * b), nn.ReLU())
        norm = nn.BatchNorm2d(ch) if batch_norm else nn.Identity()
        self.net = nn.Sequential(
            nn.ConvTranspose2d(2 * ch, ch, 4, 2, 1), norm, nn.ReLU(),
            nn.ConvTranspose2d(ch, 1, 4, 2, 1), nn.Sigmoid(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Map latents to images.

        Parameters
        ----------
        z : torch.Tensor, shape (n, latent_dim)
            Latents.

        Returns
        -------
        torch.Tensor, shape (n, size * size)
            Flattened images in ``[0, 1]``.
        """
        h = self.fc(z).view(z.shape[0], *self._shape)
        return self.net(h).flatten(start_dim=1)


class ConvDiscriminator(nn.Module):
    """DCGAN-style discriminator / critic for ``size x size`` single-channel images.

    ``Conv(4, 2, 1) + LeakyReLU(0.2)`` twice, then ``Linear(., 1)``; accepts rows
    ``(n, size * size)`` or images ``(n, 1, size, size)``; returns logits ``(n,)``.

    Parameters
    ----------
    size : {8, 28}
        Image side.
    channels : int
        Channels of the first convolution (twice as many in the second).
    slope : float
        Negative slope of the LeakyReLU.
    """

    def __init__(self, size: int = 28, *, channels: int = 32, slope: float = 0.2):
        super().__init__()
        where = "gan.ConvDiscriminator"
        self.size = check_choice(size, "size", (8, 28), where)
        ch = check_int(channels, "channels", where)
        b = size // 4
        self.net = nn.Sequential(
            nn.Conv2d(1, ch, 4, 2, 1), nn.LeakyReLU(slope),
            nn.Conv2d(ch, 2 * ch, 4, 2, 1), nn.LeakyReLU(slope),
            nn.Flatten(), nn.Linear(2 * ch * b * b, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Compute the logits.

        Parameters
        ----------
        x : torch.Tensor, shape (n, size * size) or (n, 1, size, size)
            Images.

        Returns
        -------
        torch.Tensor, shape (n,)
        """
        x = x.reshape(x.shape[0], 1, self.size, self.size)
        return self.net(x).squeeze(-1)

    def prob(self, x: torch.Tensor) -> torch.Tensor:
        """Compute ``sigmoid(D(x))``.

        Parameters
        ----------
        x : torch.Tensor, shape (n, size * size) or (n, 1, size, size)
            Images.

        Returns
        -------
        torch.Tensor, shape (n,)
        """
        return torch.sigmoid(self(x))


class NoisyDataGenerator(_Sampler, nn.Module):
    """A fixed (parameter-free) generator "data + Gaussian noise", for critic-only training.

    Gulrajani et al. (2017) drew their critic surfaces with a critic trained against such a
    fixed generator. The latent ``z ~ N(0, I_{d+1})`` drives everything: ``Phi(z_0)`` (the
    Gaussian CDF) picks the data point ``y_k``, ``k = floor(J Phi(z_0))``, and
    ``x = y_k + std * z_{1:d+1}``.

    Parameters
    ----------
    data : Tensor or ndarray, shape (J, d)
        The data points.
    std : float
        Noise level (Gulrajani et al. use unit noise on their toys).
    """

    def __init__(self, data, *, std: float = 1.0):
        super().__init__()
        data = torch.as_tensor(data)
        if data.ndim != 2 or data.shape[0] < 1:
            raise ValueError(f"gan.NoisyDataGenerator: 'data' must have shape (J, d); "
                             f"got {tuple(data.shape)}")
        if not data.is_floating_point():
            data = data.to(torch.get_default_dtype())
        self.register_buffer("data", data)
        self.std = float(std)
        self.latent_dim = data.shape[1] + 1
        self.out_dim = data.shape[1]

    def sample(self, n: int, *, rng=None) -> torch.Tensor:
        """Draw ``g(z)`` for ``n`` standard Gaussian latents ``z`` (no graph).

        Parameters
        ----------
        n : int
            How many.
        rng : None, int, numpy.random.Generator or torch.Generator
            Source of the latents.

        Returns
        -------
        torch.Tensor, shape (n, out_dim)
            On the module's device, in its dtype.
        """
        gen = rng if isinstance(rng, torch.Generator) else torch_generator(rng, self.data.device)
        z = torch.randn(n, self.latent_dim, generator=gen, device=self.data.device,
                        dtype=self.data.dtype)
        with torch.no_grad():
            return self(z)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Map latents to noisy data points.

        Parameters
        ----------
        z : torch.Tensor, shape (n, d + 1)
            Latents: ``z_0`` picks the point, the rest is its noise.

        Returns
        -------
        torch.Tensor, shape (n, d)
        """
        J = self.data.shape[0]
        k = (torch.special.ndtr(z[:, 0]) * J).long().clamp_(0, J - 1)
        return self.data[k] + self.std * z[:, 1:]
