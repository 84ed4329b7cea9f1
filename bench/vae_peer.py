"""The PyTorch peer of `deepgen train vae`: the same dense 784-400-20 VAE, loss (BCE with logits summed
over pixels + KL), Adam 1e-3, batch 128, data held in one tensor and shuffled with randperm each epoch,
loss.item() each batch. Prints one JSON line per epoch with the training seconds. Runs on Debian's
python3-torch, i.e. the same LibTorch 1.13 build that deepgen links against, or on PyPI's torch 2.x
(bench/compare_engines.sh), there eager or with --compile; and on a GPU with --device cuda
(bench/compare_gpu.sh; --compile reduce-overhead captures the step as CUDA graphs)."""
import argparse
import json
import time

import torch
import torch.nn.functional as F
from torch import nn

from idx_file import train_images
from compile_option import add_compile_option, check_compile


class VAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def forward(self, x):
        h = F.relu(self.fc1(x))
        mu, logvar = self.fc21(h), self.fc22(h)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.fc4(F.relu(self.fc3(z))), mu, logvar


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu", help="cpu or cuda (bench/compare_gpu.sh); the data is held there")
    add_compile_option(parser)
    args = parser.parse_args()
    check_compile(args, "vae_peer")
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    images = train_images(args.data)
    device = torch.device(args.device)
    images = images.view(-1, 784).to(device)
    model = VAE().to(device)

    def batch_loss(x):
        logits, mu, logvar = model(x)
        rec = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
        kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        return rec + kl

    # Compiled: the forward pass and the loss (and so their backward) as Inductor kernels; Adam stays eager.
    step_loss = torch.compile(batch_loss, mode=args.compile) if args.compile else batch_loss
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        order = torch.randperm(images.size(0), device=device)
        total = 0.0
        for i in range(0, images.size(0), 128):
            x = images.index_select(0, order[i:i + 128])
            loss = step_loss(x)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item()
        seconds = time.perf_counter() - start
        print(json.dumps({"epoch": epoch, "loss": total / images.size(0), "seconds": seconds}), flush=True)


if __name__ == "__main__":
    main()
