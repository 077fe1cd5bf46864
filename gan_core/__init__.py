"""gan_core: GAN, cGAN and inpainting GANs in plain PyTorch.

Importing gan_core never imports Ray, Prefect or MLflow: those live behind
gan_core.distributed and gan_core.tracking, imported only where needed.
"""

__version__ = "0.1.0"
