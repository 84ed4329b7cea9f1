"""Where the time of one denoising tile goes: the blind colour DnCNN-20 (width 64, batch norm) on one
256-pixel tile with its 20-pixel margins (1 x 3 x 296 x 296), fp32, in PyTorch, as each step from eager
PyTorch to what deepgen's ResidualCnn::infer does (models/dncnn.cpp) and to what torch.compile does:
  eager            nn.Sequential as trained, in eval mode (conv, BN, ReLU), NCHW
  folded           each BN folded into its convolution (torch.nn.utils.fusion.fuse_conv_bn_eval), NCHW
  folded-cl        the same, channels-last activations and weights (oneDNN's fast layout on the CPU)
  fused-relu       folded, channels-last, ReLU as the convolution's oneDNN post-op
                   (mkldnn::_convolution_pointwise; PyTorch 2.x): deepgen's infer() on LibTorch 2.x
  compiled         torch.compile(eager), default mode
  frozen           torch.compile with Inductor's freezing (weights as constants: BN folded, weights
                   prepacked for oneDNN)
Random weights and BN statistics (the speed does not depend on them); the outputs are checked against
eager's. The variants run in turn, ROUNDS times, after two warm-up calls each (which hold the
compilations); prints the median and the fastest milliseconds of each. On a machine with Debian's
libtorch-dev beside the venv, preload the wheel's libtorch_cpu (bench/lib.sh, wheel_libtorch_cpu; `make
bench TORCH=pip` does) or the compiled variants get Inductor's scalar kernels.
    inference_variants.py [--threads 1] [--rounds 7]"""
import argparse
import copy
import time

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval


def dncnn(depth=20, width=64, channels=3):
    layers = [nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(inplace=True)]
    for _ in range(depth - 2):
        layers += [nn.Conv2d(width, width, 3, padding=1, bias=False), nn.BatchNorm2d(width, eps=1e-4),
                   nn.ReLU(inplace=True)]
    layers.append(nn.Conv2d(width, channels, 3, padding=1, bias=False))
    net = nn.Sequential(*layers).eval()
    with torch.no_grad():
        for m in net:
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 2)
                m.weight.normal_(1, 0.1)
                m.bias.normal_(0, 0.1)
    return net


def folded(net):
    layers, modules, i = [], list(copy.deepcopy(net)), 0
    while i < len(modules):
        if isinstance(modules[i], nn.Conv2d) and i + 1 < len(modules) and isinstance(modules[i + 1], nn.BatchNorm2d):
            layers.append(fuse_conv_bn_eval(modules[i], modules[i + 1]))
            i += 2
        else:
            layers.append(modules[i])
            i += 1
    return nn.Sequential(*layers).eval()


def fused_relu(net):
    """conv (+ ReLU as post-op) per layer on channels-last input, as deepgen's infer() on LibTorch 2.x."""
    convs = [m for m in folded(net) if isinstance(m, nn.Conv2d)]
    weights = [(c.weight.detach().contiguous(memory_format=torch.channels_last), c.bias) for c in convs]
    op = torch.ops.mkldnn._convolution_pointwise

    def run(x):
        y = x.contiguous(memory_format=torch.channels_last)
        for i, (w, b) in enumerate(weights):
            y = op(y, w, b, [1, 1], [1, 1], [1, 1], 1, "relu" if i < len(weights) - 1 else "none", [], "")
        return y.contiguous()
    return run


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    net = dncnn()
    x = torch.rand(1, 3, 296, 296)
    fold = folded(net)
    fold_cl = folded(net).to(memory_format=torch.channels_last)
    variants = {
        "eager": net,
        "folded": fold,
        "folded-cl": lambda v: fold_cl(v.contiguous(memory_format=torch.channels_last)).contiguous(),
    }
    if hasattr(torch.ops.mkldnn, "_convolution_pointwise"):
        variants["fused-relu"] = fused_relu(net)
    if hasattr(torch, "compile"):
        variants["compiled"] = torch.compile(copy.deepcopy(net))
        from torch._inductor import config as inductor_config

        compiled_default = variants["compiled"]
        with torch.inference_mode():  # the default compilation before freezing is switched on
            compiled_default(x), compiled_default(x)
        inductor_config.freezing = True
        variants["frozen"] = torch.compile(copy.deepcopy(net))
    times = {name: [] for name in variants}
    with torch.inference_mode():
        reference = net(x)
        for name, f in variants.items():
            f(x)
            difference = (f(x) - reference).abs().max().item()
            if difference > 1e-3:
                raise SystemExit(f"inference_variants.py: {name} differs from eager by {difference}")
        for _ in range(args.rounds):
            for name, f in variants.items():
                begin = time.perf_counter()
                f(x)
                times[name].append(time.perf_counter() - begin)
    print(f"torch {torch.__version__}, {args.threads} thread(s), 1 x 3 x 296 x 296, {args.rounds} rounds")
    print("| variant | median ms | fastest ms | eager / variant |")
    print("| --- | --- | --- | --- |")
    eager = sorted(times["eager"])[args.rounds // 2]
    for name, t in times.items():
        t.sort()
        print(f"| {name} | {t[args.rounds // 2] * 1000:.0f} | {t[0] * 1000:.0f} | {eager / t[args.rounds // 2]:.2f}x |")


if __name__ == "__main__":
    main()
