"""Where a denoiser's error is: for each image, the standard deviation of what it removed (noisy -
denoised; for Gaussian noise of sigma S a denoiser that removes exactly the noise removes S) and the
RMS error against the clean image in its flat and its textured half (split at the median gradient
magnitude of the clean image). Pixels on the 0..255 scale. Inputs are the files `deepgen denoise RUN
CLEAN OUT --add-noise S` writes (OUT, and beside it the noisy input: x.png -> x.noisy.png).
  /usr/bin/python3 scripts/denoise_residuals.py CLEAN.png OUT.png [CLEAN2.png OUT2.png ...]"""
import os
import sys

import numpy as np
from PIL import Image


def gray(path):
    try:
        return np.asarray(Image.open(path).convert("L"), dtype=np.float64)
    except OSError as e:
        sys.exit(f"{path}: cannot read the image ({e})")


def main(args):
    if len(args) < 2 or len(args) % 2:
        sys.exit(__doc__)
    print(f"{'image':28s} removed std   RMSE flat   RMSE textured")
    for clean_path, out_path in zip(args[0::2], args[1::2]):
        clean, out, noisy = gray(clean_path), gray(out_path), gray(os.path.splitext(out_path)[0] + ".noisy.png")
        if clean.shape != out.shape or clean.shape != noisy.shape:
            sys.exit(f"{out_path}: expected the size of {clean_path}, {clean.shape}, found {out.shape} / {noisy.shape}")
        gy, gx = np.gradient(clean)
        flat = np.hypot(gx, gy) < np.median(np.hypot(gx, gy))
        error = out - clean
        print(f"{os.path.basename(out_path):28s} {np.std(noisy - out):11.2f} {np.sqrt(np.mean(error[flat] ** 2)):11.2f} "
              f"{np.sqrt(np.mean(error[~flat] ** 2)):15.2f}")


if __name__ == "__main__":
    main(sys.argv[1:])
