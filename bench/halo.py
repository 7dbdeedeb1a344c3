#!/usr/bin/python3
"""Echoes of edges: texture that a stylized image puts into the photo's
flat areas next to its edges rather than anywhere else.

usage: bench/halo.py PHOTO OUTPUT [PHOTO OUTPUT ...]
       bench/halo.py --eval DIR   (run-eval.sh's folder: X.content.png, X.png)

A network with no source of texture but the photo paints its strokes as
echoes of the edges it sees: ripples that follow a tower's outline into a
flat sky, rims along a mushroom's cap.  In the areas that are flat in the
photo (local deviation of luminance < FLAT), this compares the output's
high-passed luminance energy near the photo's strong edges (NEAR px) with
its energy far from any (>= FAR px):

  echo = energy near / energy far     (1: texture does not follow edges)
  near = energy near, x 1e4           (the ripples' strength itself)

The photo's own figures are printed beside (its flat areas have little
texture anywhere, and a little blur of the edge still reaches NEAR).
"""
import os
import sys

import numpy as np
from PIL import Image

from photo_pairs import photo_pairs

FLAT = 0.02          # local deviation of the photo's luminance, sigma 2 px
NEAR = (3, 10)       # px from the nearest strong edge
FAR = 20
TOP = 0.05           # strong edges: the top 5 % of the gradient


def load(path):
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255


def luma(rgb):
    return rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def blur(a, sigma):
    r = int(3 * sigma + 0.5)
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k = (k / k.sum()).astype(np.float32)
    pad = np.pad(a, ((r, r), (0, 0)), mode="reflect")
    a = sum(k[i] * pad[i:i + a.shape[0]] for i in range(2 * r + 1))
    pad = np.pad(a, ((0, 0), (r, r)), mode="reflect")
    return sum(k[i] * pad[:, i:i + a.shape[1]] for i in range(2 * r + 1))


def distance_to(mask, limit):
    """px (8-neighbour steps) to the nearest True, limit + 1 beyond limit"""
    d = np.where(mask, 0, limit + 1).astype(np.int32)
    reached = mask.copy()
    for k in range(1, limit + 1):
        grown = reached.copy()
        grown[1:] |= reached[:-1]
        grown[:-1] |= reached[1:]
        grown[:, 1:] |= grown[:, :-1].copy()
        grown[:, :-1] |= grown[:, 1:].copy()
        d[grown & ~reached] = k
        reached = grown
    return d


def energies(photo, out):
    if photo.shape != out.shape:
        img = Image.fromarray((photo * 255 + 0.5).astype(np.uint8))
        photo = np.asarray(img.resize((out.shape[1], out.shape[0]), Image.LANCZOS),
                           dtype=np.float32) / 255
    yp = luma(photo)
    gy, gx = np.gradient(blur(yp, 1.0))
    mag = np.hypot(gx, gy)
    edges = mag >= np.quantile(mag, 1 - TOP)
    d = distance_to(edges, FAR)
    m = blur(yp, 2.0)
    sd = np.sqrt(np.maximum(blur(yp * yp, 2.0) - m * m, 0))
    flat = sd < FLAT
    near = flat & (d >= NEAR[0]) & (d <= NEAR[1])
    far = flat & (d >= FAR)
    if near.sum() < 200 or far.sum() < 200:
        return None

    def hp_energy(y):
        e = (y - blur(y, 2.0)) ** 2
        return e[near].mean() * 1e4, e[far].mean() * 1e4

    return hp_energy(luma(out)), hp_energy(yp)


def main(argv):
    jobs = photo_pairs(argv)
    print(f"{'output':44s} {'echo':>6s} {'near':>7s} {'far':>7s}   photo: {'echo':>6s} {'near':>6s}")
    rows = []
    for photo, out in jobs:
        e = energies(load(photo), load(out))
        name = os.path.basename(out)[-44:]
        if e is None:
            print(f"{name:44s} (too few flat pixels near or far from edges)")
            continue
        (on, of), (pn, pf) = e
        rows.append((on / of, on, of, pn / pf, pn))
        print(f"{name:44s} {on / of:6.2f} {on:7.2f} {of:7.2f}          {pn / pf:6.2f} {pn:6.2f}")
    if len(rows) > 1:
        m = np.array(rows)
        gm = np.exp(np.log(m[:, [0, 3]]).mean(0))
        print(f"{'geometric mean echo / mean near':44s} {gm[0]:6.2f} {m[:, 1].mean():7.2f} "
              f"{'':7s}          {gm[1]:6.2f} {m[:, 4].mean():6.2f}")


if __name__ == "__main__":
    main(sys.argv[1:])
