"""The PyTorch peer of `deepgen train dncnn --sigma-range 5 50 --precision fp32|bf16`: the same blind
DnCNN-B (Conv+ReLU, depth-2 x (Conv+BN(eps 1e-4)+ReLU), Conv; 3x3 'same'), the same loss
1/(2N) sum ||R(y) - v||^2, Adam 1e-3, batch 64, PATCHES random 40x40 gray patches of the train images
cropped once and held in one tensor, shuffled with randperm each epoch, a random symmetry of the square
and a sigma uniform in [5, 50] per patch, loss.item() each batch. bf16 is what PyTorch's documentation
recommends on CPU: channels_last weights and inputs, torch.autocast("cpu", torch.bfloat16), the loss in
fp32. Prints one JSON line per epoch with the training seconds. Runs on Debian's python3-torch and
python3-pil, i.e. the same LibTorch 1.13 build that deepgen links against."""
import argparse
import json
import os
import time

import numpy as np
import torch
from PIL import Image
from torch import nn


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
    coins = torch.rand(3, x.size(0), 1, 1, 1) < 0.5  # (3, N, 1, 1, 1)
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
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    bf16 = args.precision == "bf16"
    images = random_patches(args.data, 40, args.patches, torch.Generator().manual_seed(1))
    net = dncnn(args.depth, args.width)
    if bf16:
        net = net.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    net.train()
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        order = torch.randperm(images.size(0))
        total, batches = 0.0, 0
        for i in range(0, images.size(0), 64):
            clean = random_dihedral(images.index_select(0, order[i:i + 64]))
            sigmas = (torch.rand(clean.size(0)) * 45 + 5).view(-1, 1, 1, 1) / 255  # (N, 1, 1, 1)
            noise = torch.randn_like(clean) * sigmas
            noisy = clean + noise
            if bf16:
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    residual = net(noisy.contiguous(memory_format=torch.channels_last)).float()
            else:
                residual = net(noisy)
            loss = (residual - noise).pow(2).sum() / (2 * clean.size(0))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item()
            batches += 1
        seconds = time.perf_counter() - start
        print(json.dumps({"epoch": epoch, "loss": total / batches, "seconds": seconds}), flush=True)


if __name__ == "__main__":
    main()
