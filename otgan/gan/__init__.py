"""Adversarial training: losses, penalties, models, the Dirac-GAN, the loop, the semi-discrete WGAN.

Submodules
----------
losses     discriminator BCE on logits, saturating / non-saturating generator losses, WGAN losses
penalties  weight clipping, gradient penalty (two- and one-sided), R1 / R2, Lipschitz estimate,
           spectral normalisation
models     MLP generator / discriminator (the lectures' defaults), a small DCGAN pair for digits
dirac      the Dirac-GAN of Mescheder et al. (2018): vector fields by autograd and in closed form
sdwgan     semi-discrete WGAN pieces (generator loss through the c-transform, critic ``psi^c``)
trainer    one :class:`Trainer` / :func:`train` for "gan", "nsgan", "wgan", "wgan-gp", "sdwgan"
"""

from . import dirac
from .dirac import closed_form_field, trajectory, vector_field
from .losses import critic_loss, discriminator_loss, generator_loss, wgan_generator_loss
from .models import (
    ConvDiscriminator,
    ConvGenerator,
    MLPDiscriminator,
    MLPGenerator,
    NoisyDataGenerator,
)
from .penalties import (
    LipschitzEstimate,
    clip_weights,
    gradient_penalty,
    input_gradient,
    interpolates,
    lipschitz_estimate,
    r1_penalty,
    r2_penalty,
    spectral_normalize,
)
from .sdwgan import SemiDiscreteCritic, sdwgan_generator_loss, semi_dual_estimate
from .trainer import LOSSES, History, Snapshot, Trainer, TrainResult, train, w2_squared

__all__ = [
    "LOSSES",
    "ConvDiscriminator",
    "ConvGenerator",
    "History",
    "LipschitzEstimate",
    "MLPDiscriminator",
    "MLPGenerator",
    "NoisyDataGenerator",
    "SemiDiscreteCritic",
    "Snapshot",
    "TrainResult",
    "Trainer",
    "clip_weights",
    "closed_form_field",
    "critic_loss",
    "dirac",
    "discriminator_loss",
    "generator_loss",
    "gradient_penalty",
    "input_gradient",
    "interpolates",
    "lipschitz_estimate",
    "r1_penalty",
    "r2_penalty",
    "sdwgan_generator_loss",
    "semi_dual_estimate",
    "spectral_normalize",
    "train",
    "trajectory",
    "vector_field",
    "w2_squared",
    "wgan_generator_loss",
]
