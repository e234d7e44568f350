"""Adversarial games as discrete solvers (the GAN training flows are compared with): the game
loop, critics, the gradient-regularized MMD GAN, WGAN-GP, the original JS game, the f-GAN games
and AdaGAN boosting."""

from .adagan import AdaGAN, AdaGANResult, GeneratorMixture, adagan_threshold, adagan_weights
from .critics import AbstractCritic, MLPCritic, RandomFeatureCritic
from .f_gan import (
    F_DIVERGENCES,
    FGAN,
    AbstractFDivergence,
    JensenShannon,
    KullbackLeibler,
    PearsonChiSquared,
    ReverseKullbackLeibler,
    SquaredHellinger,
    variational_divergence_bound,
)
from .feature_critic import KernelFeatureCritic
from .game import AbstractAdversarialGame
from .js_gan import JSGAN, js_gan_value
from .mmd_gan import MMDGAN
from .parameter_penalty import ParameterPenaltyMMDGAN
from .wgan_gp import WGANGP, gradient_norm_penalty, gradient_penalty

__all__ = [
    "FGAN",
    "F_DIVERGENCES",
    "JSGAN",
    "JSGAN",
    "MMDGAN",
    "MMDGAN",
    "WGANGP",
    "AbstractAdversarialGame",
    "AbstractCritic",
    "AbstractFDivergence",
    "AdaGAN",
    "AdaGANResult",
    "GeneratorMixture",
    "JensenShannon",
    "KernelFeatureCritic",
    "KullbackLeibler",
    "MLPCritic",
    "ParameterPenaltyMMDGAN",
    "PearsonChiSquared",
    "RandomFeatureCritic",
    "ReverseKullbackLeibler",
    "SquaredHellinger",
    "adagan_threshold",
    "adagan_weights",
    "gradient_norm_penalty",
    "gradient_penalty",
    "js_gan_value",
    "variational_divergence_bound",
]
