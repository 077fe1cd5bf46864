"""Adversarial, mode-seeking and hole losses: hand-computed values, stability, and a D that learns."""

import math

import pytest
import torch

from gan_core.losses import discriminator_loss, generator_loss, hole_l1_loss, mode_seeking_loss
from gan_core.models.dcgan import DCGANDiscriminator
from gan_core.models.thesis import ThesisMLPDiscriminator

REAL, FAKE = [0.5, -1.0, 2.0], [-0.3, 1.2, -2.0]


def sigmoid(v: float) -> float:
    return 1 / (1 + math.exp(-v))


def test_ns_losses_equal_the_log_sigmoid_form():
    expected_d = -sum(math.log(sigmoid(r)) for r in REAL) / 3 - sum(math.log(1 - sigmoid(f)) for f in FAKE) / 3
    expected_g = -sum(math.log(sigmoid(f)) for f in FAKE) / 3
    assert discriminator_loss(torch.tensor(REAL), torch.tensor(FAKE), "ns").item() == pytest.approx(expected_d, rel=1e-6)
    assert generator_loss(torch.tensor(FAKE), "ns").item() == pytest.approx(expected_g, rel=1e-6)
    # At chance (all logits 0) D's loss is log 4: the reference the toy training test drops below.
    assert discriminator_loss(torch.zeros(4), torch.zeros(4)).item() == pytest.approx(math.log(4))


def test_hinge_losses_by_hand():
    # mean(relu(1 - r)) = (0.5 + 2 + 0) / 3; mean(relu(1 + f)) = (0.7 + 2.2 + 0) / 3
    assert discriminator_loss(torch.tensor(REAL), torch.tensor(FAKE), "hinge").item() == pytest.approx(5.4 / 3)
    assert generator_loss(torch.tensor(FAKE), "hinge").item() == pytest.approx(1.1 / 3)


@pytest.mark.parametrize("kind", ["ns", "hinge"])
def test_losses_stay_finite_on_extreme_logits(kind):
    real = torch.tensor([1e4, -1e4], requires_grad=True)
    fake = torch.tensor([-1e4, 1e4], requires_grad=True)
    loss = discriminator_loss(real, fake, kind) + generator_loss(fake, kind)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(real.grad).all() and torch.isfinite(fake.grad).all()
    if kind == "ns":  # right side of the boundary costs nothing, the wrong side costs the logit (not inf)
        assert discriminator_loss(torch.tensor([1e4]), torch.tensor([-1e4])).item() == pytest.approx(0.0, abs=1e-6)
        assert generator_loss(torch.tensor([-1e4])).item() == pytest.approx(1e4)


def test_unknown_loss_kind_is_named():
    with pytest.raises(ValueError, match=r"'wgan'.*allowed: ns, hinge"):
        discriminator_loss(torch.zeros(2), torch.zeros(2), "wgan")
    with pytest.raises(ValueError, match="'wgan'"):
        generator_loss(torch.zeros(2), "wgan")


def test_mode_seeking_term_by_hand():
    z1, z2 = torch.full((4, 8), 1.5), torch.full((4, 8), -0.5)  # |z1 - z2| = 2
    fake2 = torch.rand(4, 1, 5, 5)
    fake1 = (fake2 + 0.5).requires_grad_()  # |fake1 - fake2| = 0.5
    loss = mode_seeking_loss(z1, z2, fake1, fake2)
    assert loss.item() == pytest.approx(1 / (0.25 + 1e-5), rel=1e-5)
    loss.backward()
    assert fake1.grad is not None and (fake1.grad < 0).all()  # pushing the images apart lowers the term


def test_hole_l1_loss_by_hand_and_shape_check():
    patch, truth = torch.zeros(2, 1, 3, 3), torch.zeros(2, 1, 3, 3)
    patch[0] = 0.9  # half the elements off by 0.9
    assert hole_l1_loss(patch, truth).item() == pytest.approx(0.45)
    with pytest.raises(ValueError, match=r"\(2, 1, 3, 3\).*\(2, 1, 4, 4\)"):
        hole_l1_loss(patch, torch.zeros(2, 1, 4, 4))


@pytest.mark.parametrize(
    "make_discriminator",
    [lambda: DCGANDiscriminator(ndf=8, channels=1, image_size=28), lambda: ThesisMLPDiscriminator()],
    ids=["dcgan", "thesis"],
)
def test_discriminator_learns_a_separable_toy_set(make_discriminator):
    torch.manual_seed(0)
    discriminator = make_discriminator()
    optimiser = torch.optim.Adam(discriminator.parameters(), lr=1e-3, betas=(0.5, 0.999))
    real, fake = torch.ones(16, 1, 28, 28), torch.zeros(16, 1, 28, 28)
    for _ in range(15):  # real and fake in separate forwards, as a GAN step does
        loss = discriminator_loss(discriminator(real), discriminator(fake))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    assert loss.item() < 0.25 * math.log(4)
