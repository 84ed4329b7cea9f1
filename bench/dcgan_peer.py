"""The PyTorch peer of `deepgen train gan --arch dcgan` with deepgen's defaults: the same DCGAN
(src/deepgen/models/dcgan.cpp; a 28x28 image starts G from 7x7, a power-of-two side from 4x4): G is a
transposed convolution from z (latent 100) to ngf * 2^(d-1) maps of the base side, then d - 1 blocks of
stride-2 transposed convolution + batch norm + ReLU halving the maps, a last stride-2 transposed
convolution to the image (with bias) and tanh; D is d blocks of stride-2 4x4 convolution (ndf, 2 ndf, ...;
batch norm and no bias except on the first) + leaky ReLU 0.2, then a convolution of the base side to one
logit. Weights as deepgen's dcgan_init: convolutions N(0, 0.02), batch-norm scales N(1, 0.02) and
shifts 0, the two convolution biases PyTorch's (and LibTorch's) default. The game as deepgen's
GanFamily::train_step (src/deepgen/models/gan.cpp) with its defaults: z ~ N(0, 1); D's loss, the
non-saturating game's BCE with logits on G's detached samples (target 0) and the real images (target 1),
one Adam step of D; then G's loss softplus(-D(G(z))) on the same samples through the updated D, one
Adam step of G (each step zero_grad, backward, step); Adam lr 2e-4, betas (0.5, 0.999) for both; after
each G step the EMA copy of G that deepgen keeps for sampling: decay min(0.999, (1 + n) / (10 + n)) after
n earlier G updates, parameters averaged, batch-norm buffers copied. Data as deepgen reads it:
Fashion-MNIST's training images (the first --train-limit), resized to --image-size the way deepgen
resizes (uint8 -> float, area averaging to shrink or bilinear without corner alignment to enlarge, then
rounded to uint8; deepgen's default is the native 28x28), scaled to [-1, 1], held in one tensor, shuffled
with randperm each epoch, batches of --batch-size (deepgen's default 128), the last one partial.
deepgen keeps each step's metrics (loss_d, loss_g, d_x = mean sigmoid(D(x)), d_g_z = mean sigmoid(D(G(z))))
as tensors and reads them back every 50 steps; on a CPU a read waits for nothing, so this peer computes
the same four and reads them with .item() each step, as the other peers do. Prints one JSON line per
epoch (the mean loss_d as "loss", loss_g, d_x, d_g_z) with the seconds of the training loop only.
Runs on Debian's python3-torch, i.e. the same LibTorch 1.13 build that deepgen links against, or on
PyPI's torch 2.x, there eager or with --compile: torch.compile of the per-batch forward passes and losses
as three functions, G's forward pass, D's loss (D on the real and on the detached generated images, the
BCE and the two mean probabilities) and G's loss (D on the generated images, softplus), each with its
backward; the two Adam steps and the EMA stay eager. (One compiled function for G and D's loss together
would hold G's backward in the node that D's loss.backward() runs and frees, before G's loss needs it.)
On a GPU (bench/compare_gpu.sh): --device cuda holds the data there; --precision bf16 runs the forward
passes under bf16 autocast with channels_last networks and inputs; --compile reduce-overhead captures
the compiled functions as CUDA graphs."""
import argparse
import copy
import json
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

from idx_file import read_idx
from compile_option import add_compile_option, check_compile


def layout(size):  # as deepgen's layout_for: the generator's base side and its doublings to `size`
    base = 7 if size == 28 else 4
    side, doublings = base, 0
    while side < size:
        side, doublings = side * 2, doublings + 1
    if side != size or not 1 <= doublings <= 6:
        sys.exit(f"dcgan_peer: image size must be 28 or a power of two from 8 to 256, found {size}")
    return base, doublings


def dcgan_init(net):
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
    return net


class Generator(nn.Module):
    def __init__(self, latent, features, channels, size):
        super().__init__()
        base, doublings = layout(size)
        self.latent = latent
        features = features << (doublings - 1)
        layers = [nn.ConvTranspose2d(latent, features, base, bias=False), nn.BatchNorm2d(features), nn.ReLU(True)]
        for i in range(1, doublings + 1):
            last = i == doublings
            out = channels if last else features // 2
            layers.append(nn.ConvTranspose2d(features, out, 4, stride=2, padding=1, bias=last))
            if not last:
                layers += [nn.BatchNorm2d(out), nn.ReLU(True)]
            features = out
        layers.append(nn.Tanh())
        self.layers = nn.Sequential(*layers)
        dcgan_init(self)

    def forward(self, z):  # (B, nz) -> (B, nz, 1, 1) -> (B, C, S, S)
        return self.layers(z.view(z.size(0), self.latent, 1, 1))


class Discriminator(nn.Module):
    def __init__(self, features, channels, size):
        super().__init__()
        base, doublings = layout(size)
        layers, cin = [], channels
        for i in range(doublings):
            out = features << i
            layers.append(nn.Conv2d(cin, out, 4, stride=2, padding=1, bias=i == 0))
            if i > 0:
                layers.append(nn.BatchNorm2d(out))
            layers.append(nn.LeakyReLU(0.2, True))
            cin = out
        layers.append(nn.Conv2d(cin, 1, base, bias=False))
        self.layers = nn.Sequential(*layers)
        dcgan_init(self)

    def forward(self, images):  # (B, C, S, S) -> (B, 1, 1, 1) -> (B)
        return self.layers(images).view(-1)


def train_images(data, size, limit):
    """The first `limit` training images (all when 0) as deepgen loads them: (N, 1, S, S) in [-1, 1]."""
    pixels = torch.from_numpy(read_idx(f"{data}/train-images-idx3-ubyte.gz").copy())  # (N, H, W) uint8
    if limit > 0:
        pixels = pixels[:limit]
    pixels = pixels.unsqueeze(1)  # (N, H, W) -> (N, 1, H, W)
    if size and size != pixels.size(2):  # deepgen's resize_images
        mode = dict(mode="area") if pixels.size(2) > size else dict(mode="bilinear", align_corners=False)
        pixels = F.interpolate(pixels.float(), size=(size, size), **mode).round().clamp(0, 255).to(torch.uint8)
    return pixels.float().div_(255).mul_(2).sub_(1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--train-limit", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--image-size", type=int, default=0, help="resize to this side (0 = native, 28)")
    parser.add_argument("--latent-dim", type=int, default=100)
    parser.add_argument("--g-features", type=int, default=64)
    parser.add_argument("--d-features", type=int, default=64)
    parser.add_argument("--ema", type=float, default=0.999, help="decay of the EMA copy of G (0 = off)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (bench/compare_gpu.sh); the data is held there")
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                        help="bf16: autocast of the forward passes with channels_last networks and inputs")
    add_compile_option(parser, "the forward passes and losses")
    args = parser.parse_args()
    check_compile(args, "dcgan_peer")
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    device = torch.device(args.device)
    bf16 = args.precision == "bf16"
    images = train_images(args.data, args.image_size, args.train_limit).to(device)
    size = images.size(2)
    generator = Generator(args.latent_dim, args.g_features, 1, size).to(device)
    discriminator = Discriminator(args.d_features, 1, size).to(device)
    if bf16:
        generator, discriminator = (net.to(memory_format=torch.channels_last) for net in (generator, discriminator))
    ema = copy.deepcopy(generator).eval().requires_grad_(False)

    def autocast():  # bf16: the forward passes under autocast (the losses in fp32); fp32: nothing
        return torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16)

    def generate(z):
        with autocast():
            return generator(z).float()

    def d_scores(images):
        with autocast():
            return discriminator(images.contiguous(memory_format=torch.channels_last) if bf16 else images).float()

    def d_loss(real, fake):  # D's loss on real and (detached) generated images; mean D(x) and D(G(z))
        real_scores, fake_scores = d_scores(real), d_scores(fake)
        loss = F.binary_cross_entropy_with_logits(real_scores, torch.ones_like(real_scores)) + \
            F.binary_cross_entropy_with_logits(fake_scores, torch.zeros_like(fake_scores))
        return loss, torch.sigmoid(real_scores).mean(), torch.sigmoid(fake_scores).mean()

    def g_loss(fake):  # the non-saturating -log D(G(z)) = softplus(-score)
        return F.softplus(-d_scores(fake)).mean()

    # Compiled: G's forward pass, D's loss and G's loss (and so their backward) as Inductor kernels; the
    # Adam steps and the EMA stay eager.
    if args.compile:
        generate, d_loss, g_loss = (torch.compile(f, mode=args.compile) for f in (generate, d_loss, g_loss))
    optimizer_g = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optimizer_d = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    g_updates = 0

    @torch.no_grad()
    def update_ema():
        if args.ema <= 0:
            return
        decay = min(args.ema, (1.0 + g_updates) / (10.0 + g_updates))
        for average, parameter in zip(ema.parameters(), generator.parameters()):
            average.mul_(decay).add_(parameter, alpha=1.0 - decay)
        for average, buffer in zip(ema.buffers(), generator.buffers()):
            average.copy_(buffer)

    generator.train()
    discriminator.train()
    n, batch = images.size(0), args.batch_size
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        order = torch.randperm(n, device=device)
        totals = [0.0, 0.0, 0.0, 0.0]  # loss_d, loss_g, d_x, d_g_z, each times the batch size
        for i in range(0, n, batch):
            real = images.index_select(0, order[i:i + batch])
            z = torch.randn(real.size(0), args.latent_dim, device=device)
            fake = generate(z)
            loss_d, d_x, d_g_z = d_loss(real, fake.detach())
            optimizer_d.zero_grad()
            loss_d.backward()
            optimizer_d.step()
            loss_g = g_loss(fake)
            optimizer_g.zero_grad()
            loss_g.backward()
            optimizer_g.step()
            update_ema()
            g_updates += 1
            for k, value in enumerate((loss_d, loss_g, d_x, d_g_z)):
                totals[k] += value.item() * real.size(0)
        seconds = time.perf_counter() - start
        loss_d, loss_g, d_x, d_g_z = (t / n for t in totals)
        print(json.dumps({"epoch": epoch, "loss": loss_d, "loss_g": loss_g, "d_x": d_x, "d_g_z": d_g_z,
                          "seconds": seconds}), flush=True)


if __name__ == "__main__":
    main()
