"""The PyTorch peer of `deepgen train dncnn --sigma-range 5 50 --precision fp32|bf16`: the same blind
DnCNN-B (Conv+ReLU, depth-2 x (Conv+BN(eps 1e-4)+ReLU), Conv; 3x3 'same'), the same loss
1/(2N) sum ||R(y) - v||^2, Adam 1e-3, batch 64, PATCHES random 40x40 gray patches of the train images
cropped once and held in one tensor, shuffled with randperm each epoch, a random symmetry of the square
and a sigma uniform in [5, 50] per patch, loss.item() each batch. bf16 is what PyTorch's documentation
recommends on CPU: channels_last weights and inputs, torch.autocast("cpu", torch.bfloat16), the loss in
fp32. Prints one JSON line per epoch with the training seconds. Runs on Debian's python3-torch and
python3-pil, i.e. the same LibTorch 1.13 build that deepgen links against, or on PyPI's torch 2.x, there
eager or with --compile: torch.compile of the per-batch function (the network's forward pass and the
loss, and so their backward; under bf16 the channels_last input and the autocast region inside it, so
autocast wraps the forward pass only, as AMP recommends, and the backward runs outside any autocast as
the compiled call did, which is what torch.compile's backward assumes by default). The data (crop,
symmetry, noise) and Adam's step stay eager. On a GPU (bench/compare_gpu.sh): --device cuda holds the
patches there and autocasts on it; --compile reduce-overhead captures the step as CUDA graphs."""
import argparse
import json
import os
import time

import numpy as np
import torch
from PIL import Image
from torch import nn
from compile_option import add_compile_option, check_compile


def dncnn(depth, width):
    layers = [nn.Conv2d(1, width, 3, padding=1), nn.ReLU(inplace=True)]
    for _ in range(depth - 2):
        layers += [nn.Conv2d(width, width, 3, padding=1, bias=False), nn.BatchNorm2d(width, eps=1e-4),
                   nn.ReLU(inplace=True)]
    layers.append(nn.Conv2d(width, 1, 3, padding=1, bias=False))
    net = nn.Sequential(*layers)
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    with torch.no_grad():
        layers[-1].weight.mul_(0.01)
    return net


def random_patches(folder, size, count, generator):
    images = []
    for name in sorted(os.listdir(folder)):
        gray = np.asarray(Image.open(os.path.join(folder, name)).convert("RGB"), dtype=np.float32) @ \
            np.array([0.299, 0.587, 0.114], dtype=np.float32)  # (H, W, 3) -> (H, W)
        images.append(torch.from_numpy(gray / 255.0))
    patches = []
    for _ in range(count):
        image = images[int(torch.randint(len(images), (1,), generator=generator))]
        top = int(torch.randint(image.size(0) - size + 1, (1,), generator=generator))
        left = int(torch.randint(image.size(1) - size + 1, (1,), generator=generator))
        patches.append(image[top:top + size, left:left + size])
    return torch.stack(patches).unsqueeze(1)  # count x (S, S) -> (count, 1, S, S)


def random_dihedral(x):
    coins = torch.rand(3, x.size(0), 1, 1, 1, device=x.device) < 0.5  # (3, N, 1, 1, 1)
    x = torch.where(coins[0], x.flip(2), x)
    x = torch.where(coins[1], x.flip(3), x)
    return torch.where(coins[2], x.transpose(2, 3), x)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="data/natural/train")
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--depth", type=int, default=20)
    parser.add_argument("--patches", type=int, default=1536)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--device", default="cpu", help="cpu or cuda (bench/compare_gpu.sh); the patches are held there")
    add_compile_option(parser)
    args = parser.parse_args()
    check_compile(args, "dncnn_peer")
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    bf16 = args.precision == "bf16"
    device = torch.device(args.device)
    images = random_patches(args.data, 40, args.patches, torch.Generator().manual_seed(1)).to(device)
    net = dncnn(args.depth, args.width).to(device)
    if bf16:
        net = net.to(memory_format=torch.channels_last)

    def batch_loss(noisy, noise):
        if bf16:
            with torch.autocast(device.type, dtype=torch.bfloat16):
                residual = net(noisy.contiguous(memory_format=torch.channels_last)).float()
        else:
            residual = net(noisy)
        return (residual - noise).pow(2).sum() / (2 * noisy.size(0))

    # Compiled: the forward pass and the loss (and so their backward) as Inductor kernels, bf16's autocast
    # inside; the data and Adam stay eager.
    step_loss = torch.compile(batch_loss, mode=args.compile) if args.compile else batch_loss
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    net.train()
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        order = torch.randperm(images.size(0), device=device)
        total, batches = 0.0, 0
        for i in range(0, images.size(0), args.batch_size):
            clean = random_dihedral(images.index_select(0, order[i:i + args.batch_size]))
            sigmas = (torch.rand(clean.size(0), device=device) * 45 + 5).view(-1, 1, 1, 1) / 255  # (N, 1, 1, 1)
            noise = torch.randn_like(clean) * sigmas
            noisy = clean + noise
            loss = step_loss(noisy, noise)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item()
            batches += 1
        seconds = time.perf_counter() - start
        print(json.dumps({"epoch": epoch, "loss": total / batches, "seconds": seconds}), flush=True)


if __name__ == "__main__":
    main()
