"""The PyTorch peer of `deepgen denoise RUN IN OUT` and `deepgen upscale RUN IN OUT`: loads the same
run's weights (deepgen's checkpoint.pt is a TorchScript archive that torch.jit.load reads), builds the same
network (DnCNN / VDSR-style residual CNN: conv+ReLU, depth-2 x (conv [+BN] + ReLU), conv), and applies it
to the image the way deepgen does: one piece up to 1 Mpixel, above that 256-pixel tiles, each with the
net's receptive radius (its depth) of real context on every side, cropped back; upscale first resizes
bicubically to the output size and adds the net's residual, denoise subtracts it. Eval mode under
torch.inference_mode, fp32, like deepgen. With --compile the network is wrapped in torch.compile (the edge
tiles have other shapes, so it compiles a few shapes, as a user's would); --freeze adds Inductor's
freezing. Writes the 8-bit PNG and prints one JSON line: the seconds of the network pass over all tiles,
and of the whole program so far.
    restore_peer.py --task denoise|upscale --run RUN --input IN.png --output OUT.png [--threads N] [--compile [MODE] [--freeze]]"""
import argparse
import json
import time

START = time.perf_counter()

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from PIL import Image  # noqa: E402
from torch import nn  # noqa: E402
from compile_option import add_compile_option, check_compile  # noqa: E402


def residual_cnn(state, prefix):
    """The nn.Sequential of deepgen's ResidualCnn with the run's weights (its layer indices, so the keys match)."""
    weights = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    convs = sorted(int(k.split(".")[0]) for k in weights if k.endswith(".weight") and weights[k].dim() == 4)
    layers, index = [], 0
    while index <= convs[-1]:
        key = f"{index}."
        weight = weights.get(key + "weight")
        if weight is not None and weight.dim() == 4:
            out_channels, in_channels = weight.shape[:2]
            layers.append(nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=key + "bias" in weights))
        elif weight is not None:
            layers.append(nn.BatchNorm2d(weight.shape[0], eps=1e-4))
        else:
            layers.append(nn.ReLU(inplace=True))
        index += 1
    net = nn.Sequential(*layers)
    net.load_state_dict(weights, strict=True)
    return net.eval(), len(convs)


def tiled_apply(net, image, tile, margin):
    """deepgen's tiled_apply (apps/restoration.cpp): tiles of `tile` pixels with `margin` pixels of context."""
    h, w = image.shape[2:]
    if tile <= 0 or (tile >= h and tile >= w):
        return net(image)
    out = None
    for top in range(0, h, tile):
        for left in range(0, w, tile):
            th, tw = min(tile, h - top), min(tile, w - left)
            in_top, in_left = max(0, top - margin), max(0, left - margin)
            in_bottom, in_right = min(h, top + th + margin), min(w, left + tw + margin)
            piece = net(image[:, :, in_top:in_bottom, in_left:in_right])
            if out is None:
                out = torch.empty(1, piece.shape[1], h, w)
            out[:, :, top:top + th, left:left + tw] = piece[:, :, top - in_top:top - in_top + th,
                                                             left - in_left:left - in_left + tw]
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--task", choices=["denoise", "upscale"], required=True)
    parser.add_argument("--run", required=True, help="a deepgen dncnn (denoise) or sr (upscale) run")
    parser.add_argument("--input", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--threads", type=int, default=1)
    add_compile_option(parser, "the network")
    parser.add_argument("--freeze", action="store_true",
                        help="with --compile: Inductor's freezing (torch._inductor.config.freezing), which treats the "
                             "weights as constants: folds batch norm into the convolutions and prepacks the weights "
                             "for oneDNN, the configuration PyTorch recommends for CPU inference")
    args = parser.parse_args()
    check_compile(args, "restore_peer.py")
    if args.freeze and not args.compile:
        parser.error("--freeze needs --compile")
    if args.freeze:
        from torch._inductor import config as inductor_config
        inductor_config.freezing = True
    torch.set_num_threads(args.threads)
    config = json.load(open(f"{args.run}/config.json"))
    state = torch.jit.load(f"{args.run}/checkpoint.pt", map_location="cpu").state_dict()
    net, depth = residual_cnn(state, "model.net.layers.")
    if args.compile:
        net = torch.compile(net, mode=args.compile)
    pixels = np.asarray(Image.open(args.input))
    image = torch.from_numpy(pixels.copy()).float().div(255)
    image = image.unsqueeze(0) if image.dim() == 2 else image.permute(2, 0, 1)
    if image.shape[0] != config["model_options"]["channels"]:
        raise SystemExit(f"restore_peer.py: {args.input}: the model works on {config['model_options']['channels']}-"
                         f"channel images, the image has {image.shape[0]}")
    x = image.unsqueeze(0)
    begin = time.perf_counter()
    with torch.inference_mode():
        if args.task == "upscale":
            s = config["model_options"]["scale"]
            x = F.interpolate(x, size=(x.shape[2] * s, x.shape[3] * s), mode="bicubic", align_corners=False)
        tile = 0 if x.shape[2] * x.shape[3] <= (1 << 20) else 256
        residual = tiled_apply(net, x, tile, depth)
        out = x + residual if args.task == "upscale" else x - residual
    network_seconds = time.perf_counter() - begin
    out = out.clamp(0, 1).squeeze(0).mul(255).round().to(torch.uint8).permute(1, 2, 0).squeeze(2).numpy()
    Image.fromarray(out).save(args.output)
    print(json.dumps({"task": args.task, "pixels": int(out.shape[0] * out.shape[1]), "tile": tile,
                      "network_seconds": network_seconds, "seconds": time.perf_counter() - START}), flush=True)


if __name__ == "__main__":
    main()
