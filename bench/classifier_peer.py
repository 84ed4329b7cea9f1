"""The PyTorch peer of `deepgen train classifier --arch lenet5|resnet` on Fashion-MNIST: the same networks
(ReLU, He-normal weights and zero biases; LeNet-5 without batch norm, the ResNet of three stages of
--depth basic blocks of --width, 2x --width and 4x --width channels with batch norm), cross-entropy,
Adam 1e-3, batch 128, pixels in [0, 1] held in one tensor and shuffled with randperm each epoch,
loss.item() and the batch accuracy read each step. Prints one JSON line per epoch with the training
seconds. Runs on Debian's python3-torch, the LibTorch deepgen links, or on PyPI's torch 2.x, there eager
or with --compile: torch.compile of the per-batch function (the network's forward pass, the
cross-entropy and the batch accuracy, and so their backward); Adam's step stays eager."""
import argparse
import json
import time

import torch
import torch.nn.functional as F
from torch import nn

from idx_file import train_images, train_labels
from compile_option import add_compile_option, check_compile


def conv_bn_relu(cin, cout, kernel, padding, bn):
    layers = [nn.Conv2d(cin, cout, kernel, padding=padding, bias=not bn)]
    if bn:
        layers.append(nn.BatchNorm2d(cout))
    return layers + [nn.ReLU()]


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.norm1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.norm2 = nn.BatchNorm2d(cout)
        self.projection = None
        if stride != 1 or cin != cout:
            self.projection = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.norm2(self.conv2(F.relu(self.norm1(self.conv1(x)))))
        return F.relu(y + (self.projection(x) if self.projection is not None else x))


def make(arch, width, depth):
    if arch == "lenet5":
        layers = conv_bn_relu(1, 6, 5, 2, False) + [nn.MaxPool2d(2)] + conv_bn_relu(6, 16, 5, 0, False) + [
            nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
            nn.Linear(84, 10)]
    else:
        layers, cin = conv_bn_relu(1, width, 3, 1, True), width
        for stage in range(3):
            for block in range(depth):
                layers.append(Block(cin, width << stage, 2 if stage > 0 and block == 0 else 1))
                cin = width << stage
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, 10)]
    net = nn.Sequential(*layers)
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return net


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--arch", default="lenet5", choices=["lenet5", "resnet"])
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--depth", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--train-limit", type=int, default=0)
    add_compile_option(parser)
    args = parser.parse_args()
    check_compile(args, "classifier_peer")
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    images, labels = train_images(args.data), train_labels(args.data)
    if args.train_limit > 0:
        images, labels = images[: args.train_limit], labels[: args.train_limit]
    images = images.unsqueeze(1)  # (N, 28, 28) -> (N, 1, 28, 28)
    model = make(args.arch, args.width, args.depth)

    def batch_step(x, y):
        logits = model(x)
        return F.cross_entropy(logits, y), (logits.argmax(1) == y).float().mean()

    # Compiled: the forward pass, the loss and the accuracy (and so their backward) as Inductor kernels;
    # Adam stays eager.
    step = torch.compile(batch_step, mode=args.compile) if args.compile else batch_step
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        model.train()
        order = torch.randperm(images.size(0))
        total = 0.0
        for i in range(0, images.size(0), 128):
            index = order[i:i + 128]
            x, y = images.index_select(0, index), labels.index_select(0, index)
            loss, accuracy = step(x, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item()
            accuracy.item()
        seconds = time.perf_counter() - start
        print(json.dumps({"epoch": epoch, "loss": total, "seconds": seconds}), flush=True)


if __name__ == "__main__":
    main()
