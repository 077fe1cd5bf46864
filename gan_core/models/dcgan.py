"""The general `dcgan` family: one convolutional G and one D for 28, 32 and 64 px, with or without labels.

The generator follows Radford et al. (2016); the class-conditional variants add a label embedding to the
latent code (G) and a projection head (D; Miyato & Koyama 2018), so one class per network covers the GAN
and the cGAN at every size.
"""

from __future__ import annotations

import torch
from torch import nn

# image size -> (side of the first feature map, number of x2 resolution steps): 7 -> 14 -> 28, 4 -> ... -> 32/64
GEOMETRY: dict[int, tuple[int, int]] = {28: (7, 2), 32: (4, 3), 64: (4, 4)}


def dcgan_geometry(image_size: int) -> tuple[int, int]:
    """(first feature-map side, number of x2 steps) for an image size, so G and D mirror each other."""
    if image_size not in GEOMETRY:
        raise ValueError(f"dcgan nets: image_size {image_size} is not supported; supported sizes: {sorted(GEOMETRY)}")
    return GEOMETRY[image_size]


def check_labels(labels: torch.Tensor | None, num_classes: int, batch_size: int) -> None:
    """Enforce the label contract of every G and D: conditional nets need (B,) labels, unconditional ones refuse them."""
    if num_classes == 0:
        if labels is not None:
            raise ValueError("this network is unconditional (task 'gan'): call it without labels")
        return
    if labels is None:
        raise ValueError(f"this network is class-conditional ({num_classes} classes): labels of shape (B,) are required")
    if labels.shape != (batch_size,):
        raise ValueError(f"labels must have shape ({batch_size},) to match the batch, got {tuple(labels.shape)}")


def init_weights(module: nn.Module) -> None:
    """DCGAN init (Radford et al. 2016): N(0, 0.02) weights and N(1, 0.02) BatchNorm scales steady early training.

    Embeddings keep PyTorch's N(0, 1) so a label code has the same scale as the latent code it joins.
    """
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class DCGANGenerator(nn.Module):
    """z (B, nz) [+ labels (B,)] -> images (B, C, H, W) in [0, 1]; widths halve from ngf * 2**(steps - 1) to ngf."""

    def __init__(self, nz: int, ngf: int, channels: int, image_size: int, num_classes: int = 0) -> None:
        super().__init__()
        side, steps = dcgan_geometry(image_size)
        self.nz, self.num_classes = nz, num_classes
        # The label code is concatenated to z: it is as large as z, so it cannot be drowned out by it.
        self.label_embedding = nn.Embedding(num_classes, nz) if num_classes else None
        width = ngf * 2 ** (steps - 1)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(nz * (2 if num_classes else 1), width, side, 1, 0, bias=False),  # (B, width, side, side)
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
        ]
        for _ in range(steps - 1):
            layers += [nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(width // 2), nn.ReLU(inplace=True)]
            width //= 2
        layers.append(nn.ConvTranspose2d(width, channels, 4, 2, 1, bias=False))  # (B, C, H, W)
        self.net = nn.Sequential(*layers)
        self.apply(init_weights)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        check_labels(labels, self.num_classes, z.shape[0])
        if self.label_embedding is not None:
            z = torch.cat([z, self.label_embedding(labels)], dim=1)  # (B, 2 nz)
        return (torch.tanh(self.net(z[:, :, None, None])) + 1) / 2  # tanh mapped to the library's [0, 1]


class DCGANDiscriminator(nn.Module):
    """images (B, C, H, W) in [0, 1] [+ labels (B,)] -> raw logits (B,); the conditional one is a projection D."""

    def __init__(self, ndf: int, channels: int, image_size: int, num_classes: int = 0) -> None:
        super().__init__()
        side, steps = dcgan_geometry(image_size)
        self.num_classes = num_classes
        layers: list[nn.Module] = [nn.Conv2d(channels, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True)]
        width = ndf
        for _ in range(steps - 1):
            layers += [nn.Conv2d(width, width * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(width * 2), nn.LeakyReLU(0.2, inplace=True)]
            width *= 2
        layers.append(nn.Flatten())  # (B, width * side * side)
        self.features = nn.Sequential(*layers)
        n_features = width * side * side
        self.logit = nn.Linear(n_features, 1)
        self.class_embedding = nn.Embedding(num_classes, n_features) if num_classes else None
        self.apply(init_weights)
        if self.class_embedding is not None:
            # Same scale as the logit layer: N(0, 1) over thousands of features would start D saturated.
            nn.init.normal_(self.class_embedding.weight, 0.0, 0.02)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        check_labels(labels, self.num_classes, x.shape[0])
        h = self.features(x * 2 - 1)  # centred input, as the tanh-era DCGAN D was designed for; (B, F)
        logits = self.logit(h).squeeze(1)  # (B,)
        if self.class_embedding is not None:
            logits = logits + (self.class_embedding(labels) * h).sum(dim=1)  # projection: + <embed(y), h>
        return logits
