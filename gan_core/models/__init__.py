"""Networks only: the `dcgan` and `thesis` families for GAN, cGAN and inpainting."""
