"""The --compile option of the PyTorch peers (bench/*_peer.py): one definition of its modes, help and the
refusal on a PyTorch without torch.compile."""
import sys

import torch


def add_compile_option(parser, what="the forward pass and loss"):
    parser.add_argument("--compile", nargs="?", const="default", choices=["default", "max-autotune", "reduce-overhead"],
                        help=f"compile {what} with torch.compile (PyTorch 2.x; Inductor writes C++/OpenMP kernels for "
                             "the CPU, reduce-overhead captures CUDA graphs on a GPU) in this mode; the first epoch "
                             "(or run) includes the compilation")


def check_compile(args, program):
    if args.compile and not hasattr(torch, "compile"):
        sys.exit(f"{program}: --compile needs torch.compile (PyTorch 2.x); this torch is {torch.__version__}")
