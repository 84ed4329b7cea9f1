"""The PyTorch DistributedDataParallel peer of `deepgen train MODEL --nproc N`: the same model, loss,
optimizer and global batch as the single-process peers (vae_peer.py, classifier_peer.py, dncnn_peer.py),
each rank computing its slice of every global batch of one seeded permutation, DDP (Gloo, the same
backend deepgen uses) averaging the gradients. Started once per rank with RANK, WORLD_SIZE, MASTER_ADDR,
MASTER_PORT in the environment (compare_ddp_cpu.sh does that). Rank 0 prints one JSON line per epoch with
the training seconds. Debian's python3-torch: the same LibTorch 1.13 build that deepgen links."""
import argparse
import json
import os
import time

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel

from classifier_peer import make
from dncnn_peer import dncnn, random_dihedral, random_patches
from idx_file import train_images, train_labels
from vae_peer import VAE


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", choices=["vae", "lenet5", "dncnn"], required=True)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--train-limit", type=int, default=0)
    parser.add_argument("--patches", type=int, default=1536)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.manual_seed(1)
    if args.model == "dncnn":
        images = random_patches("data/natural/train", 40, args.patches, torch.Generator().manual_seed(1))
        labels, batch = None, 64
        model = dncnn(20, 64)  # the blind DnCNN (deepgen --sigma-range 5 50: depth 20)
    else:
        images, labels = train_images("/usr/share/datasets/fashion-mnist"), train_labels("/usr/share/datasets/fashion-mnist")
        if args.train_limit > 0:
            images, labels = images[: args.train_limit], labels[: args.train_limit]
        images = images.view(-1, 784) if args.model == "vae" else images.unsqueeze(1)
        batch = 128
        model = VAE() if args.model == "vae" else make("lenet5", 16, 3)
    model = DistributedDataParallel(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        order = torch.randperm(images.size(0), generator=torch.Generator().manual_seed(epoch))
        total = 0.0
        for i in range(0, images.size(0), batch):
            index = order[i:i + batch]
            share = (index.size(0) + world - 1) // world
            index = index[rank * share:(rank + 1) * share]
            x = images.index_select(0, index)
            if args.model == "vae":
                logits, mu, logvar = model(x)
                rec = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
                kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
                loss = (rec + kl) / x.size(0)
            elif args.model == "lenet5":
                loss = F.cross_entropy(model(x), labels.index_select(0, index))
            else:
                clean = random_dihedral(x)
                sigmas = (torch.rand(clean.size(0)) * 45 + 5).view(-1, 1, 1, 1) / 255
                noise = torch.randn_like(clean) * sigmas
                loss = (model(clean + noise) - noise).pow(2).sum() / (2 * clean.size(0))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item()
        seconds = time.perf_counter() - start
        if rank == 0:
            print(json.dumps({"epoch": epoch, "loss": total, "seconds": seconds}), flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
