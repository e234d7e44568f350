"""Adversarial games as discrete solvers (the GAN training flows are compared with): the game
loop, critics, the gradient-regularized MMD GAN, WGAN-GP and the original JS game."""

from .critics import AbstractCritic, MLPCritic, RandomFeatureCritic
from .feature_critic import KernelFeatureCritic
from .game import AbstractAdversarialGame
from .js_gan import JSGAN, js_gan_value
from .mmd_gan import MMDGAN
from .parameter_penalty import ParameterPenaltyMMDGAN
from .wgan_gp import WGANGP, gradient_norm_penalty, gradient_penalty

__all__ = [
    "AbstractAdversarialGame",
    "AbstractCritic",
    "JSGAN",
    "KernelFeatureCritic",
    "MLPCritic",
    "MMDGAN",
    "ParameterPenaltyMMDGAN",
    "RandomFeatureCritic",
    "WGANGP",
    "gradient_norm_penalty",
    "gradient_penalty",
    "js_gan_value",
]
