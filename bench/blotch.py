#!/usr/bin/python3
"""Colour blotches: colour that a stylized image moves over areas larger
than a brush stroke, which no recolouring of the whole photo explains.

usage: bench/blotch.py PHOTO OUTPUT [PHOTO OUTPUT ...]
       bench/blotch.py --eval DIR   (run-eval.sh's folder: X.content.png, X.png)

A palette map moves every pixel of the photo by the same affine colour
map; blotches (a pink patch in a dark background, a yellow fish turned
cyan) are local.  Both images are blurred over SIGMA px, so strokes and
their colours average out; the affine map from the photo's colours to the
output's that fits best over the whole image (least squares, 3x4) is
taken out; what is left is local colour change:

  blotch = 100 x RMS of the chroma (each plane minus the luminance) of
           blur(output) - affine(blur(photo))

0 for any global recolour, however strong; luminance changes (strokes'
shading, the structure loss's business) do not count.
"""
import os
import sys

import numpy as np
from PIL import Image

from photo_pairs import photo_pairs

SIGMA = 4.0          # px: above a brush stroke at the eval pairs' size
WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float64)


def load(path):
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.float64) / 255


def blur(a, sigma):
    r = int(3 * sigma + 0.5)
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k = k / k.sum()
    pad = np.pad(a, ((r, r), (0, 0), (0, 0)), mode="reflect")
    a = sum(k[i] * pad[i:i + a.shape[0]] for i in range(2 * r + 1))
    pad = np.pad(a, ((0, 0), (r, r), (0, 0)), mode="reflect")
    return sum(k[i] * pad[:, i:i + a.shape[1]] for i in range(2 * r + 1))


def blotch(photo, out):
    if photo.shape != out.shape:
        img = Image.fromarray((photo * 255 + 0.5).astype(np.uint8))
        photo = np.asarray(img.resize((out.shape[1], out.shape[0]), Image.LANCZOS),
                           dtype=np.float64) / 255
    p = blur(photo, SIGMA).reshape(-1, 3)
    o = blur(out, SIGMA).reshape(-1, 3)
    design = np.hstack([p, np.ones((len(p), 1))])
    affine, *_ = np.linalg.lstsq(design, o, rcond=None)
    r = o - design @ affine
    chroma = r - (r @ WEIGHTS)[:, None]
    return 100 * np.sqrt((chroma ** 2).mean())


def main(argv):
    jobs = photo_pairs(argv)
    print(f"{'output':52s} {'blotch':>7s}")
    rows = []
    for photo, out in jobs:
        b = blotch(load(photo), load(out))
        rows.append(b)
        print(f"{os.path.basename(out)[-52:]:52s} {b:7.2f}")
    if len(rows) > 1:
        print(f"{'mean':52s} {np.mean(rows):7.2f}")


if __name__ == "__main__":
    main(sys.argv[1:])
