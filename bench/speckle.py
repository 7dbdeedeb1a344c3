#!/usr/bin/python3
"""Speckle ("confetti") in a stylized result: isolated outlier pixels where
the photo is flat, against the same rate in the painting.

  speckle.py CONTENT STYLE RESULT          one result
  speckle.py --eval DIR [STYLES_DIR]       every NAME.png of a run-eval.sh
                                           folder (NAME.content.png beside it)

A pixel is an outlier when, in one of its channels, it is more than T = 0.1
(of the 0..1 range) away from the median of its 8 neighbours while those
agree among themselves (standard deviation below T/2): a lone dot that no
stroke or edge explains.  'Flat' is where the photo's 5x5 luminance
standard deviation is below 0.02 (skies, water, walls).  Printed: the
outlier rate in the result's flat areas, the rate over the whole painting
(resized to the result's long side) and their ratio; a ratio near or below
1 means the flat areas carry no more dots than the painting itself."""
import sys, os, glob
import numpy as np
from PIL import Image

T, FLAT_STD = 0.1, 0.02

def load(path, long_side=None):
    im = Image.open(path).convert("RGB")
    if long_side:
        s = long_side / max(im.size)
        im = im.resize((max(1, round(im.size[0] * s)), max(1, round(im.size[1] * s))), Image.LANCZOS)
    return np.asarray(im, dtype=np.float32) / 255.0

def shifts(a, r):
    p = np.pad(a, ((r, r), (r, r)) + ((0, 0),) * (a.ndim - 2), mode="reflect")
    h, w = a.shape[:2]
    return np.stack([p[dy:dy + h, dx:dx + w] for dy in range(2 * r + 1) for dx in range(2 * r + 1)])

def outliers(img):
    nb = shifts(img, 1)
    ring = np.delete(nb, 4, axis=0)          # the 8 neighbours
    med = np.median(ring, axis=0)
    # a lone dot: far from its neighbours, which agree among themselves
    # (a stroke's edge or a thin line has neighbours that disagree)
    return ((np.abs(img - med) > T) & (ring.std(axis=0) < T / 2)).any(axis=2)

def flat(photo):
    lum = photo @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return shifts(lum, 2).std(axis=0) < FLAT_STD

def measure(content, style, result):
    res = load(result)
    photo = load(content)
    if photo.shape != res.shape:
        photo = np.asarray(Image.fromarray((photo * 255).astype(np.uint8)).resize(
            (res.shape[1], res.shape[0]), Image.LANCZOS), dtype=np.float32) / 255.0
    mask = flat(photo)
    r_flat = outliers(res)[mask].mean() if mask.any() else 0.0
    r_paint = outliers(load(style, max(res.shape[:2]))).mean()
    return r_flat, r_paint, mask.mean()

def main(argv):
    if len(argv) >= 2 and argv[0] == "--eval":
        styles = argv[2] if len(argv) > 2 else os.path.join(
            os.path.dirname(os.path.abspath(__file__)), "../../shared/data/styles")
        rows = []
        print("%-52s %7s %7s %7s %6s" % ("result", "flat%", "dots", "paint", "ratio"))
        for res in sorted(glob.glob(os.path.join(argv[1], "*.png"))):
            name = os.path.basename(res)[:-4]
            if "." in name or "__" not in name:
                continue
            style = os.path.join(styles, name.split("__")[1] + ".png")
            content = os.path.join(argv[1], name + ".content.png")
            r_flat, r_paint, fl = measure(content, style, res)
            rows.append((r_flat, r_paint))
            print("%-52s %6.1f%% %7.4f %7.4f %6.2f" % (name, 100 * fl, r_flat, r_paint,
                                                      r_flat / max(r_paint, 1e-6)))
        f, p = np.mean([r[0] for r in rows]), np.mean([r[1] for r in rows])
        ratio = f / max(p, 1e-6)
        print("%-52s %7s %7.4f %7.4f %6.2f (means and their ratio)" % ("all %d" % len(rows), "", f, p, ratio))
        return 0
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    r_flat, r_paint, fl = measure(*argv)
    print("flat %.1f%%  dots in flat %.4f  painting %.4f  ratio %.2f"
          % (100 * fl, r_flat, r_paint, r_flat / max(r_paint, 1e-6)))
    return 0

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
