#!/usr/bin/python3
# The installed plug-in inside a real GIMP 2.10, TAP output.
#
# Part 1: one gimp-console-2.10 batch launch runs every PDB case on small
# images this script generates and writes its answers to results.txt and
# its images to PNG files; the checks below compare them pixel for pixel.
# Part 2: a real GIMP window (run under xvfb-run by meson) with the
# Script-Fu server: run the procedure on a displayed image, press Ctrl+Z
# with xdotool, save, compare byte-exactly with the original; screenshots
# go to the output folder.
#
# /usr/bin/python3 on purpose: Debian's numpy and PIL live there.
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time

import numpy as np
from PIL import Image

BUILD = os.environ.get("NS_BUILD_ROOT", os.getcwd())
OUT = os.path.join(BUILD, "tests", "gimp-out")
GIMPDIR = os.environ.get("GIMP2_DIRECTORY",
                         os.path.expanduser("~/.config/GIMP/2.10"))
ITERS = 8   # few optimiser steps: these tests check behaviour, not looks
# The development network in weights/ (one style), copied to a weights folder
# of the test's own (NEURAL_STYLE_WEIGHTS_DIR), so that the tests do not
# depend on which presets happen to be installed.
PRESET = "vangogh-harvest"       # NS_DEFAULT_PRESET: what Reset selects
PRESET2 = "hokusai-great-wave"
PRESET_FILE = "presets.nsw"
WEIGHTS = os.path.join(OUT, "weights")
# The GIMP window's output, where the dialog's and the plug-in's debug lines
# (G_MESSAGES_DEBUG=NeuralStyle) land: one per preview, progress update and
# applied run (ui/ns_dialog.h).
GUI_LOG = os.path.join(OUT, "gui.log")
# Bounds that only catch a hang: speed is measured by bench/run.sh, never
# asserted here (a busy machine must not fail the suite).
HANG_S = 30
# GIMP's start and whole batches: 10 s idle, minutes on a machine loaded 4x
SLOW_HANG_S = 900

n_tests = 0
n_failed = 0


def check(ok, what, detail=""):
    global n_tests, n_failed
    n_tests += 1
    if ok:
        print(f"ok {n_tests} - {what}")
    else:
        n_failed += 1
        print(f"not ok {n_tests} - {what}" + (f" ({detail})" if detail else ""))
    sys.stdout.flush()


def load(name):
    return np.asarray(Image.open(os.path.join(OUT, name)))


def load_rgba(name):
    return np.asarray(Image.open(os.path.join(OUT, name)).convert("RGBA"))


def exists(name):
    return os.path.isfile(os.path.join(OUT, name))


# ---- inputs -----------------------------------------------------------------

def make_inputs():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(os.path.join(OUT, "batch-in"))
    os.makedirs(os.path.join(OUT, "batch-out"))
    os.makedirs(WEIGHTS)
    source_root = os.environ.get("NS_SOURCE_ROOT",
                                 os.path.join(os.path.dirname(__file__), "..", ".."))
    shutil.copy(os.path.join(source_root, "weights", PRESET_FILE), WEIGHTS)
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:48, 0:64]
    # smooth shapes plus a little noise: something for a content loss to keep
    rgb = np.stack([xx * 4, yy * 5, ((xx - 32) ** 2 + (yy - 24) ** 2) % 256],
                   axis=-1).astype(np.float64)
    rgb = np.clip(rgb + rng.normal(0, 8, rgb.shape), 0, 255).astype(np.uint8)
    Image.fromarray(rgb).save(os.path.join(OUT, "rgb.png"))
    # bigger, so the screenshots show it
    Image.fromarray(rgb).resize((192, 144), Image.NEAREST).save(
        os.path.join(OUT, "undo-src.png"))
    # big enough for a full 256x256 preview
    Image.fromarray(rgb).resize((320, 320), Image.BILINEAR).save(
        os.path.join(OUT, "dialog-src.png"))
    # alpha with fully transparent, partial and opaque pixels
    alpha = ((xx * 4 + yy) % 256).astype(np.uint8)
    alpha[:, :8] = 0
    alpha[:, -8:] = 255
    Image.fromarray(np.dstack([rgb, alpha])).save(os.path.join(OUT, "rgba.png"))
    Image.fromarray(rgb.mean(axis=2).astype(np.uint8)).save(
        os.path.join(OUT, "gray.png"))
    # style: bold diagonal stripes in two colours
    sy, sx = np.mgrid[0:40, 0:40]
    stripes = ((sx + sy) // 5) % 2 == 0
    style = np.where(stripes[..., None], [230, 40, 30], [20, 30, 200])
    Image.fromarray(style.astype(np.uint8)).save(os.path.join(OUT, "style.png"))
    with open(os.path.join(OUT, "not-an-image.png"), "w") as f:
        f.write("plain text, not a PNG\n")
    for k in range(3):
        img = np.roll(rgb[:32, :40], k * 7, axis=1)
        Image.fromarray(img).save(os.path.join(OUT, "batch-in", f"photo{k}.png"))
    # a batch goes on past these, and never writes a half image
    Image.fromarray(rgb[:32, :40]).convert("P").save(
        os.path.join(OUT, "batch-in", "indexed.gif"))
    with open(os.path.join(OUT, "batch-in", "broken.png"), "w") as f:
        f.write("plain text, not a PNG\n")
    full = open(os.path.join(OUT, "batch-in", "photo0.png"), "rb").read()
    with open(os.path.join(OUT, "batch-in", "cut.png"), "wb") as f:
        f.write(full[:len(full) * 2 // 3])


# ---- part 1: gimp-console batch --------------------------------------------

# Bad calls: name, expected start of the message, PDB arguments after the
# drawable (on the image "bad" unless the case builds its own target).
BAD_CASES = [
    ("alpha negative", "alpha:", '"{s}" -1.0 1.0 0 0 0 0 "" 0.0'),
    ("alpha above the limit", "alpha:", '"{s}" 2000000.0 1.0 0 0 0 0 "" 0.0'),
    ("beta negative", "beta:", '"{s}" 1.0 -2.0 0 0 0 0 "" 0.0'),
    ("alpha and beta both 0", "alpha, beta:", '"{s}" 0.0 0.0 0 0 0 0 "" 0.0'),
    ("refine-iterations negative", "refine-iterations:", '"{s}" 1.0 1.0 -5 0 0 0 "" 0.0'),
    ("refine-iterations above the limit", "refine-iterations:",
     '"{s}" 1.0 1.0 100001 0 0 0 "" 0.0'),
    ("preserve-colors 2", "preserve-colors:", '"{s}" 1.0 1.0 0 2 0 0 "" 0.0'),
    ("seed negative", "seed:", '"{s}" 1.0 1.0 0 0 -1 0 "" 0.0'),
    ("new-layer 7", "new-layer:", '"{s}" 1.0 1.0 0 0 0 7 "" 0.0'),
    ("style empty", "style:", '"" 1.0 1.0 0 0 0 0 "" 0.0'),
    ("style missing file", "style:", '"/nonexistent/painting.png" 1.0 1.0 0 0 0 0 "" 0.0'),
    ("style not an image", "style:", '"{o}/not-an-image.png" 1.0 1.0 0 0 0 0 "" 0.0'),
    ("style unknown preset", "style:", '"no-such-preset" 1.0 1.0 0 0 0 0 "" 0.0'),
    ("style layer that is not a layer", "style:", '"layer:999999" 1.0 1.0 0 0 0 0 "" 0.0'),
    ("style layer:abc", "style:", '"layer:abc" 1.0 1.0 0 0 0 0 "" 0.0'),
    ("mix above 1", "mix:", '"{p}" 1.0 1.0 0 0 0 0 "{p}" 1.5'),
    ("style2 unknown preset", "style2:", '"{p}" 1.0 1.0 0 0 0 0 "no-such-preset" 0.5'),
    ("style2 with an image file as style", "style2:", '"{s}" 1.0 1.0 0 0 0 0 "{p}" 0.5'),
    ("style2 a path", "style2:", '"{p}" 1.0 1.0 0 0 0 0 "{s}" 0.5'),
    ("run-mode 7", "run-mode:", '"{s}" 1.0 1.0 0 0 0 0 "" 0.0', "7"),
    # no dialog has run in this GIMP session, so there is nothing to repeat
    ("last values without settings", "run-mode:", '"{s}" 1.0 1.0 0 0 0 0 "" 0.0',
     "RUN-WITH-LAST-VALS"),
]


def scheme_main():
    s = os.path.join(OUT, "style.png")
    o = OUT
    bad_calls = "\n".join(
        f'(gimp-message "CASE {name}")\n'
        f'(put "threw {name}" (catch (quote threw) '
        f'(plug-in-neural-style {mode[0] if mode else "RUN-NONINTERACTIVE"} '
        f'bad (drw bad) {args.format(s=s, o=o, p=PRESET)}) (quote returned)))'
        for name, _, args, *mode in BAD_CASES)
    return f'''
(begin
(define res (open-output-file "{o}/results.txt"))
(define (put key value) (write key res) (display " " res) (write value res) (newline res))
(define (load name) (let ((f (string-append "{o}/" name))) (car (gimp-file-load RUN-NONINTERACTIVE f f))))
(define (drw image) (car (gimp-image-get-active-drawable image)))
(define (save image drawable name) (let ((f (string-append "{o}/" name))) (gimp-file-save RUN-NONINTERACTIVE image drawable f f)))
(define (stylize image drawable new-layer) (plug-in-neural-style RUN-NONINTERACTIVE image drawable "{s}" 1.0 1.0 {ITERS} 0 0 new-layer "" 0.0))
(define (stylize-with image style iters style2 mix) (plug-in-neural-style RUN-NONINTERACTIVE image (drw image) style 1.0 1.0 iters 0 0 0 style2 mix))

(put "proc-info" (gimp-procedural-db-proc-info "plug-in-neural-style"))
(let loop ((k 0)) (if (< k 12) (begin (put "arg" (gimp-procedural-db-proc-arg "plug-in-neural-style" k)) (loop (+ k 1)))))

(let* ((i (load "rgb.png")))
  (stylize-with i "{PRESET}" 0 "" 0.0) (save i (drw i) "preset-out.png"))

(let* ((i (load "rgb.png")))
  (stylize-with i "{PRESET}" 0 "{PRESET}" 0.5) (save i (drw i) "preset-self-mix-out.png"))

(let* ((i (load "rgb.png")))
  (stylize-with i "{PRESET2}" 0 "" 0.0) (save i (drw i) "preset2-out.png"))

(let* ((i (load "rgb.png")))
  (stylize-with i "{PRESET}" 0 "{PRESET2}" 0.5) (save i (drw i) "preset-mix-out.png"))

(let* ((i (load "rgb.png")) (st (load "style.png")))
  (stylize-with i (string-append "layer:" (number->string (drw st))) {ITERS} "" 0.0)
  (save i (drw i) "layer-style-out.png"))

(let* ((i (load "rgb.png")) (d (drw i)))
  (stylize i d 0) (save i d "rgb-out.png")
  (put "rgb-size" (list (car (gimp-image-width i)) (car (gimp-image-height i)))))

(let* ((i (load "rgb.png")) (d (drw i)))
  (gimp-image-select-rectangle i CHANNEL-OP-REPLACE 16 12 24 20)
  (stylize i d 0) (gimp-selection-none i) (save i d "sel-out.png"))

(let* ((i (load "rgb.png")) (d (drw i)))
  (gimp-context-set-feather TRUE)
  (gimp-context-set-feather-radius 2 2)
  (gimp-image-select-ellipse i CHANNEL-OP-REPLACE 16 8 32 32)
  (gimp-context-set-feather FALSE)
  (stylize i d 0) (gimp-selection-none i) (save i d "ellipse-out.png"))

(let* ((i (load "rgba.png")) (d (drw i)))
  (stylize i d 0) (save i d "rgba-out.png"))

(let* ((i (load "rgb.png")) (d (drw i)))
  (gimp-image-convert-precision i PRECISION-U16-GAMMA)
  (stylize i d 0)
  (put "u16-precision" (car (gimp-image-get-precision i)))
  (gimp-image-convert-precision i PRECISION-U8-GAMMA)
  (save i d "u16-out.png"))

(let* ((i (load "rgb.png")) (d (drw i)))
  (gimp-image-convert-precision i PRECISION-FLOAT-LINEAR)
  (stylize i d 0)
  (put "float-precision" (car (gimp-image-get-precision i)))
  (gimp-image-convert-precision i PRECISION-U8-GAMMA)
  (save i d "float-out.png"))

(let* ((i (load "gray.png")) (d (drw i)))
  (stylize i d 0)
  (put "gray-base-type" (car (gimp-image-base-type i)))
  (save i d "gray-out.png"))

(let* ((i (load "rgb.png")) (d (drw i)))
  (stylize i d 1)
  (let* ((layers (gimp-image-get-layers i)) (top (aref (cadr layers) 0)))
    (put "new-layer-count" (car layers))
    (put "new-layer-name" (car (gimp-item-get-name top)))
    (put "new-layer-is-new" (if (= top d) 0 1))
    (save i top "newlayer-top.png")
    (save i d "newlayer-orig.png")))

(define bad (load "rgb.png"))
{bad_calls}
(save bad (drw bad) "bad-out.png")

(let* ((i (load "rgb.png")))
  (gimp-image-convert-indexed i CONVERT-DITHER-NONE CONVERT-PALETTE-GENERATE 16 FALSE FALSE "")
  (save i (drw i) "indexed-before.png")
  (gimp-message "CASE indexed image")
  (put "threw indexed image" (catch (quote threw) (stylize i (drw i) 0) (quote returned)))
  (save i (drw i) "indexed-after.png"))

(let* ((i (load "rgb.png")) (l (drw i)) (g (car (gimp-layer-group-new i))))
  (gimp-image-insert-layer i g 0 0)
  (gimp-image-reorder-item i l g 0)
  (gimp-message "CASE layer group")
  (put "threw layer group" (catch (quote threw) (stylize i g 0) (quote returned)))
  (gimp-message "CASE layer group, new-layer")
  (put "threw layer group, new-layer" (catch (quote threw) (stylize i g 1) (quote returned)))
  (put "group-layers" (list (car (gimp-image-get-layers i)) (car (gimp-item-get-children g))))
  (save i l "group-child-after.png"))

(let* ((i (load "rgb.png")) (other (load "gray.png")))
  (gimp-message "CASE drawable of another image")
  (put "threw drawable of another image" (catch (quote threw) (stylize i (drw other) 0) (quote returned))))

(close-output-port res))
'''


def run_console():
    batch = (f'(neural-style-batch "{OUT}/batch-in/*" "{OUT}/batch-out" '
             f'"{OUT}/style.png" 1.0 1.0)')
    cmd = ["gimp-console-2.10", "-i", "-d", "-f",
           "-b", scheme_main(), "-b", batch, "-b", "(gimp-quit 0)"]
    start = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=SLOW_HANG_S,
                       env=dict(os.environ, NEURAL_STYLE_WEIGHTS_DIR=WEIGHTS))
    with open(os.path.join(OUT, "console.log"), "w") as f:
        f.write(p.stdout + p.stderr)
    return p.stderr, time.monotonic() - start


def results():
    """results.txt as (key, value text) pairs, in order."""
    pairs = []
    path = os.path.join(OUT, "results.txt")
    if os.path.isfile(path):
        for line in open(path):
            m = re.match(r'"([^"]*)" (.*)', line.rstrip("\n"))
            if m:
                pairs.append((m.group(1), m.group(2)))
    return pairs


def check_console(stderr):
    res = results()
    get = lambda key: next((v for k, v in res if k == key), None)

    info = get("proc-info") or ""
    args = [v for k, v in res if k == "arg"]
    want = [(0, "run-mode"), (13, "image"), (16, "drawable"), (4, "style"),
            (3, "alpha"), (3, "beta"), (0, "refine-iterations"),
            (0, "preserve-colors"), (0, "seed"), (0, "new-layer"),
            (4, "style2"), (3, "mix")]
    got = [(int(m.group(1)), m.group(2)) for m in
           (re.match(r'\((\d+) "([^"]+)" "(.+)"\)$', a) for a in args) if m]
    check(info.endswith(" 12 0)") and got == want
          and all(re.search(r'" ".{10,}"\)$', a) for a in args),
          "procedure plug-in-neural-style has the 12 parameters in order "
          "(the first 10 as before), each described",
          f"info={info[-40:]} args={got}")
    pluginrc = open(os.path.join(GIMPDIR, "pluginrc"), errors="replace").read()
    entry = pluginrc[pluginrc.find('(proc-def "plug-in-neural-style"'):][:3000]
    check('"<Image>/Filters/Artistic/Neural Style..."' in entry
          or ('"<Image>/Filters/Artistic"' in entry and "_Neural Style..." in entry),
          "menu entry <Image>/Filters/Artistic/Neural Style... for RGB*, GRAY*")
    check('"RGB*, GRAY*"' in entry, "image types RGB*, GRAY*")

    rgb = load("rgb.png")
    ok = exists("rgb-out.png")
    out = load("rgb-out.png") if ok else None
    check(ok and out.shape == rgb.shape and get("rgb-size") == "(64 48)",
          "stylized RGB image keeps its size", f"size {get('rgb-size')}")
    check(ok and np.abs(out.astype(int) - rgb).mean() > 2.0,
          "stylized RGB image differs from the input",
          f"mean abs diff {np.abs(out.astype(int) - rgb).mean() if ok else None}")

    ok = exists("preset-out.png")
    diff = np.abs(load("preset-out.png").astype(int) - rgb).mean() if ok else None
    check(ok and diff > 2.0, f"preset style '{PRESET}' stylizes the image",
          f"mean abs diff {diff}")
    check(ok and exists("preset-self-mix-out.png")
          and np.array_equal(load("preset-self-mix-out.png"), load("preset-out.png")),
          "style2 = style at mix 0.5 paints exactly the plain preset "
          "(style2 and mix reach the engine)")
    if exists("preset-mix-out.png") and exists("preset2-out.png") and ok:
        a, b = load("preset-out.png").astype(int), load("preset2-out.png").astype(int)
        m = load("preset-mix-out.png").astype(int)
        d_ab, d_ma, d_mb = (np.abs(a - b).mean(), np.abs(m - a).mean(),
                            np.abs(m - b).mean())
    else:
        d_ab = d_ma = d_mb = None
    check(d_ab is not None and d_ma < d_ab and d_mb < d_ab and min(d_ma, d_mb) > 1.0,
          f"'{PRESET}' blended 0.5 with '{PRESET2}' lies between the two presets",
          f"a-b {d_ab}, mix-a {d_ma}, mix-b {d_mb}")
    check(exists("layer-style-out.png") and exists("rgb-out.png")
          and np.array_equal(load("layer-style-out.png"), load("rgb-out.png")),
          "style layer:ID (the style image opened as a layer) paints exactly "
          "what the same image file as style paints")

    ok = exists("sel-out.png")
    if ok:
        sel = load("sel-out.png")
        inside = np.zeros(rgb.shape[:2], bool)
        inside[12:32, 16:40] = True
        outside_same = np.array_equal(sel[~inside], rgb[~inside])
        inside_diff = np.abs(sel[inside].astype(int) - rgb[inside]).mean()
    check(ok and outside_same,
          "rectangular selection: every pixel outside it byte-identical")
    check(ok and inside_diff > 2.0, "rectangular selection: inside changed",
          f"mean abs diff inside {inside_diff if ok else None}")

    # Feathered circle of radius 16 around (32, 24): the mask blends, so
    # pixels well outside the circle but inside its bounding box stay put.
    ok = exists("ellipse-out.png")
    if ok:
        ell = load("ellipse-out.png")
        yy, xx = np.mgrid[0:rgb.shape[0], 0:rgb.shape[1]]
        dist = np.hypot(xx + 0.5 - 32, yy + 0.5 - 24)
        far = dist > 16 + 3.5   # radius + feather + a pixel and a half
        box = (xx >= 16) & (xx < 48) & (yy >= 8) & (yy < 40)
        core = dist < 10
        outside_same = np.array_equal(ell[far], rgb[far])
        core_diff = np.abs(ell[core].astype(int) - rgb[core]).mean()
    check(ok and outside_same and (far & box).sum() > 20 and core_diff > 2.0,
          "feathered elliptical selection: pixels beyond the feather "
          "(bounding box corners too) byte-identical, centre changed",
          f"centre mean abs diff {core_diff if ok else None}")

    ok = exists("rgba-out.png")
    if ok:
        src, dst = load("rgba.png"), load("rgba-out.png")
        opaque = src[..., 3] > 0
    check(ok and dst.shape == src.shape
          and np.array_equal(dst[..., 3], src[..., 3]),
          "alpha channel preserved exactly")
    check(ok and np.abs(dst[..., :3][opaque].astype(int) - src[..., :3][opaque]).mean() > 2.0,
          "RGBA image: colours changed")

    for name, key, prec in (("16-bit", "u16-precision", "250"),
                            ("32-bit float", "float-precision", "600")):
        f = "u16-out.png" if key.startswith("u16") else "float-out.png"
        ok = exists(f) and get(key) == prec
        diff = np.abs(load(f).astype(int) - rgb).mean() if exists(f) else 0
        check(ok and load(f).shape == rgb.shape and diff > 2.0,
              f"{name} image stylized, precision kept",
              f"precision {get(key)}, mean abs diff {diff:.2f}")

    gray = load("gray.png")
    ok = exists("gray-out.png") and get("gray-base-type") == "1"
    g = load("gray-out.png") if exists("gray-out.png") else None
    check(ok and g.ndim == 2 and g.shape == gray.shape
          and np.abs(g.astype(int) - gray).mean() > 2.0,
          "grayscale image stylized and stays grayscale",
          f"base type {get('gray-base-type')}")

    ok = exists("newlayer-top.png") and exists("newlayer-orig.png")
    check(ok and get("new-layer-count") == "2" and get("new-layer-is-new") == "1"
          and get("new-layer-name") == '"style"'
          and np.array_equal(load("newlayer-orig.png"), rgb)
          and np.abs(load("newlayer-top.png").astype(int) - rgb).mean() > 2.0,
          "new-layer 1 adds one layer named after the style above the "
          "untouched original",
          f"count {get('new-layer-count')} name {get('new-layer-name')}")

    # Each bad call: it raised, its message names the parameter, and the
    # image is unchanged.
    blocks = re.split(r"script-fu-Warning: CASE ", stderr)[1:]
    messages = {}
    for b in blocks:
        name, _, rest = b.partition("\n")
        m = re.search(r"Calling error for procedure 'plug-in-neural-style':\n(.*)", rest)
        messages[name.strip()] = m.group(1) if m else None
    for name, prefix, *_ in BAD_CASES + [("indexed image", "drawable:", ""),
                                        ("drawable of another image", "drawable:", ""),
                                        ("layer group", "drawable:", ""),
                                        ("layer group, new-layer", "drawable:", "")]:
        msg = messages.get(name)
        check(get(f"threw {name}") == "threw" and msg is not None
              and msg.startswith(prefix),
              f"bad call ({name}) fails with a message naming '{prefix[:-1]}'",
              f"raised {get(f'threw {name}')}, message {msg!r}")
    check(exists("bad-out.png") and np.array_equal(load("bad-out.png"), rgb),
          "image unchanged after all the bad calls")
    check(exists("indexed-after.png")
          and np.array_equal(load_rgba("indexed-before.png"),
                             load_rgba("indexed-after.png")),
          "indexed image unchanged after the refused call")

    check(get("group-layers") == "(1 1)" and exists("group-child-after.png")
          and np.array_equal(load("group-child-after.png"), rgb),
          "a layer group as the drawable changes nothing (no layer added, "
          "its child untouched)", f"layers, children {get('group-layers')}")

    # the batch: every readable file in name order, a summary naming the
    # files it could not do, nothing written for them
    done = re.findall(r"neural-style-batch: (\S+)\n", stderr)
    check(done[:4] == [os.path.join(OUT, "batch-out", f) for f in
                       ("indexed.gif", "photo0.png", "photo1.png", "photo2.png")],
          "neural-style-batch goes on past bad files, in name order", f"{done}")
    check("neural-style-batch: 4 done, 2 failed: broken.png, cut.png" in stderr,
          "neural-style-batch reports 'N done, M failed: names'")
    ok = exists(os.path.join("batch-out", "indexed.gif"))
    check(ok and load(os.path.join("batch-out", "indexed.gif")).shape == (32, 40),
          "neural-style-batch writes a GIF input back as a GIF")
    ins = sorted(f for f in os.listdir(os.path.join(OUT, "batch-in")) if f.startswith("photo"))
    outs = sorted(f for f in os.listdir(os.path.join(OUT, "batch-out")) if f != "indexed.gif")
    ok = ins == outs and len(ins) == 3
    diffs = []
    if ok:
        for f in ins:
            a = load(os.path.join("batch-in", f))
            b = load(os.path.join("batch-out", f))
            diffs.append(np.abs(b.astype(int) - a).mean()
                         if a.shape == b.shape else -1)
    check(ok and all(d > 2.0 for d in diffs),
          "neural-style-batch stylizes a folder of 3 images into out-dir, same names",
          f"outputs {outs}, mean abs diffs {diffs}")


# ---- part 2: undo in a real GIMP window -------------------------------------

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def script_fu(port, text, timeout=SLOW_HANG_S):
    """One command to plug-in-script-fu-server: (error flag, answer)."""
    c = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        data = text.encode()
        c.sendall(b"G" + struct.pack(">H", len(data)) + data)
        head = b""
        while len(head) < 4:
            chunk = c.recv(4 - len(head))
            if not chunk:
                raise ConnectionError("server closed the connection")
            head += chunk
        length = struct.unpack(">H", head[2:4])[0]
        body = b""
        while len(body) < length:
            chunk = c.recv(length - len(body))
            if not chunk:
                break
            body += chunk
        return head[1], body.decode(errors="replace")
    finally:
        c.close()


def xdotool(*args):
    return subprocess.run(["xdotool", *args], capture_output=True, text=True,
                          timeout=30).stdout.split()


def check_dialog(port, before):
    """Interactive mode opens the dialog.  A layer as the style (the slow
    optimisation path) shows its progress under the preview; Escape in the
    middle of it cancels the dialog at once, the image untouched."""
    answer = {}
    mark_debug_lines()

    def call():
        answer["reply"] = script_fu(
            port, "(plug-in-neural-style RUN-INTERACTIVE 1 "
                  "(car (gimp-image-get-active-drawable 1)) \"\" 1.0 1.0 0 0 0 0 "
                  "\"\" 0.0)")
    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    dialogs = xdotool("search", "--sync", "--name", "^Neural Style$")
    progress = []
    elapsed = None
    if dialogs:
        wait_for_previews(1, 60)
        xdotool("windowfocus", "--sync", dialogs[0])
        xdotool("key", "--clearmodifiers", "alt+s", "End")   # Layer...
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            progress = [l for l in timing_lines("progress") if 0 < float(l[1]) < 1]
            if len(progress) >= 3:
                break
            time.sleep(0.1)
        xdotool("mousemove", "0", "0")
        time.sleep(0.3)
        subprocess.run(["import", "-window", "root",
                        os.path.join(OUT, "dialog-progress-screenshot.png")], timeout=30)
        xdotool("windowfocus", "--sync", dialogs[0])
        xdotool("key", "--clearmodifiers", "Escape")
        start = time.monotonic()
        thread.join(timeout=HANG_S)
        elapsed = time.monotonic() - start
    save_drawable(port, "dialog-after.png")
    check(bool(dialogs) and len(progress) >= 3,
          "a layer as the style: the preview shows the optimisation's progress",
          f"progress lines {progress[:3]}")
    check(bool(dialogs) and "reply" in answer and elapsed < HANG_S
          and exists("dialog-after.png") and before is not None
          and np.array_equal(load("dialog-after.png"), before),
          "interactive mode opens the Neural Style dialog; Escape during a "
          "slow preview closes it and leaves the image untouched",
          f"dialog windows {dialogs}, reply {answer.get('reply')!r}, "
          f"closed after {elapsed} s")


DEBUG_LINE = re.compile(r"NeuralStyle-DEBUG: (?:[0-9:.]+: )?(.*)\n")
debug_mark = [0]


def debug_lines():
    """The complete debug lines of the GIMP window so far, split."""
    if not os.path.isfile(GUI_LOG):
        return []
    with open(GUI_LOG, errors="replace") as f:
        return [m.group(1).split() for l in f if (m := DEBUG_LINE.search(l))]


def mark_debug_lines():
    """From here on, timing_lines sees only the lines written after now."""
    debug_mark[0] = len(debug_lines())


def timing_lines(kind="preview_ms"):
    return [l for l in debug_lines()[debug_mark[0]:] if l and l[0] == kind]


def wait_for_previews(count, timeout):
    deadline = time.monotonic() + timeout
    while len(timing_lines()) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return len(timing_lines()) >= count


def settings_of(fields):
    """The settings part of a log line: everything from 'style' on."""
    return fields[fields.index("style"):] if "style" in fields else None


def find_preview(shot, geometry):
    """The preview's box in a root screenshot: inside the dialog's left
    half, the rows and columns with many colourful pixels.  The theme is
    grey (background, scrollbars, progress bar, text); the picture is not."""
    x, y, w, h = geometry
    crop = shot[y:y + h, x:x + w // 2, :3].astype(int)
    colourful = crop.max(axis=2) - crop.min(axis=2) > 24
    rows = np.where(colourful.sum(axis=1) > 100)[0]
    cols = np.where(colourful.sum(axis=0) > 100)[0]
    if len(rows) == 0 or len(cols) == 0:
        return None
    return (x + cols[0], y + rows[0], cols[-1] - cols[0] + 1, rows[-1] - rows[0] + 1)


def window_geometry(window):
    out = subprocess.run(["xdotool", "getwindowgeometry", "--shell", window],
                         capture_output=True, text=True, timeout=30).stdout
    g = dict(l.split("=") for l in out.split() if "=" in l)
    return tuple(int(g.get(k, 0)) for k in ("X", "Y", "WIDTH", "HEIGHT"))


def check_dialog_preview(port):
    """The dialog on a 320x320 image with the preset: the preview fills in
    without blocking, ten 'New variation' presses give ten previews (their
    median latency is the figure docs/dialog.md quotes), Enter in an entry
    presses OK, and OK applies exactly the settings of the last preview and
    stores them as the last values."""
    src = os.path.join(OUT, "dialog-src.png")
    err, image = script_fu(port, f'(let ((i (car (gimp-file-load RUN-NONINTERACTIVE "{src}" "{src}")))) '
                                 f'(gimp-display-new i) i)')
    image = image.strip("()").split()[0] if err == 0 else "-1"
    drawable = f"(car (gimp-image-get-active-drawable {image}))"
    mark_debug_lines()
    answer = {}

    def call():
        answer["reply"] = script_fu(
            port, f'(plug-in-neural-style RUN-INTERACTIVE {image} {drawable} '
                  f'"" 1.0 1.0 0 0 0 0 "" 0.0)')
    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    dialogs = xdotool("search", "--sync", "--name", "^Neural Style$")
    first = bool(dialogs) and wait_for_previews(1, 90)
    shot_path = os.path.join(OUT, "dialog-screenshot.png")
    box = None
    if first:
        xdotool("mousemove", "0", "0")   # no tooltip over the dialog
        time.sleep(0.5)
        subprocess.run(["import", "-window", "root", shot_path], timeout=30)
        box = find_preview(np.asarray(Image.open(shot_path).convert("RGB")),
                           window_geometry(dialogs[0]))
    latencies = []
    after_reset = None
    if first:
        for k in range(10):
            count = len(timing_lines())
            xdotool("windowfocus", "--sync", dialogs[0])
            xdotool("key", "--clearmodifiers", "alt+v")   # New _variation
            if not wait_for_previews(count + 1, 30):
                break
            time.sleep(0.3)   # the last preview of this press, if several
            latencies.append(float(timing_lines()[-1][1]))
        # Reset: the defaults (first preset, seed 0), then a variation again
        # so that OK has a seed of its own to carry
        count = len(timing_lines())
        xdotool("windowfocus", "--sync", dialogs[0])
        xdotool("key", "--clearmodifiers", "alt+r")
        if wait_for_previews(count + 1, 30):
            time.sleep(0.3)
            after_reset = settings_of(timing_lines()[-1])
        count = len(timing_lines())
        xdotool("key", "--clearmodifiers", "alt+v")
        wait_for_previews(count + 1, 30)
        time.sleep(0.5)
        # Co_ntent weight's entry has the focus; Enter presses OK
        xdotool("windowfocus", "--sync", dialogs[0])
        xdotool("key", "--clearmodifiers", "alt+n")
        xdotool("key", "--clearmodifiers", "Return")
    thread.join(timeout=SLOW_HANG_S)
    ok_path = os.path.join(OUT, "dialog-ok.png")
    script_fu(port, f'(gimp-file-save RUN-NONINTERACTIVE {image} {drawable} "{ok_path}" "{ok_path}")')
    # the same settings again, from the stored last values, on a fresh copy
    last_path = os.path.join(OUT, "dialog-last-values.png")
    script_fu(port, f'(let* ((i (car (gimp-file-load RUN-NONINTERACTIVE "{src}" "{src}"))) '
                    f'(d (car (gimp-image-get-active-drawable i)))) '
                    f'(plug-in-neural-style RUN-WITH-LAST-VALS i d "" 1.0 1.0 0 0 0 0 "" 0.0) '
                    f'(gimp-file-save RUN-NONINTERACTIVE i d "{last_path}" "{last_path}"))',
              timeout=SLOW_HANG_S)

    check(first, "the dialog's preview is painted (a preview line within 90 s)",
          f"dialogs {dialogs}")
    orig = load("dialog-src.png")
    if box:
        shot = np.asarray(Image.open(shot_path).convert("RGB")).astype(int)
        x, y, w, h = box
        region = shot[y:y + h, x:x + w]
        as_shown = lambda img: np.asarray(Image.fromarray(img).resize((w, h), Image.BILINEAR)).astype(int)
        spread = region.std()
        to_orig = np.abs(region - as_shown(orig)).mean()
    check(box is not None and abs(box[2] - 256) <= 4 and abs(box[3] - 256) <= 4
          and spread > 20 and to_orig > 4,
          "dialog-screenshot.png: a 256x256 preview, not blank, showing the "
          "stylized image rather than the original",
          f"box {box}, std {spread if box else None}, "
          f"mean abs diff to the original {to_orig if box else None}")
    median = float(np.median(latencies)) if latencies else None
    print(f"# preview latencies (ms): {latencies}; median of "
          f"{len(latencies)}: {median}")
    sizes = {(l[3], l[5]) for l in timing_lines()}
    check(len(latencies) == 10 and sizes == {("256", "256")},
          "10 'New variation' presses give 10 previews of 256x256 with a preset",
          f"median {median}, sizes {sizes}")
    seeds = {settings_of(l)[settings_of(l).index("seed") + 1] for l in timing_lines()}
    check(len(seeds) >= 2, "'New variation' (Alt+V) changes the seed",
          f"seeds {seeds}")

    defaults = ["style", PRESET, "alpha", "1", "beta", "1", "iterations", "0",
                "preserve", "0", "seed", "0", "style2", "-", "mix", "0.5"]
    check(after_reset == defaults, "Reset (Alt+R) brings every value back to "
          "its default", f"after reset {after_reset}")

    applied = timing_lines("apply")
    previews = timing_lines()
    check(answer.get("reply", (1,))[0] == 0 and len(applied) == 1 and previews
          and settings_of(applied[0]) == settings_of(previews[-1]),
          "Enter in an entry presses OK, which applies exactly the settings "
          "(seed included) of the last preview",
          f"reply {answer.get('reply')!r}, applied {applied}, last preview "
          f"{previews[-1] if previews else None}")
    result = load("dialog-ok.png") if exists("dialog-ok.png") else None
    check(result is not None and np.abs(result.astype(int) - orig).mean() > 2.0
          and exists("dialog-last-values.png")
          and np.array_equal(load("dialog-last-values.png"), result),
          "OK changed the image, and RUN-WITH-LAST-VALS repeats it byte for byte")
    if box and result is not None:
        to_result = np.abs(region - as_shown(result)).mean()
        check(to_result < to_orig,
              "the preview looks like the applied result (closer to it than "
              "to the original)", f"to result {to_result:.1f}, to original {to_orig:.1f}")


def check_cancel(port, gimp_pid, before):
    """GIMP 2.10 cancels a plug-in from its progress bar by killing the
    process (gimp_plug_in_progress_cancel_callback -> gimp_plug_in_close).
    Do the same to a long run: the call ends at once, the image untouched."""
    answer = {}

    def call():
        answer["reply"] = script_fu(
            port, "(plug-in-neural-style RUN-NONINTERACTIVE 1 "
                  "(car (gimp-image-get-active-drawable 1)) "
                  f'"{OUT}/style.png" 1.0 1.0 50000 0 0 0 "" 0.0)')
    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    pid = None
    deadline = time.monotonic() + 60
    while pid is None and time.monotonic() < deadline and thread.is_alive():
        ps = subprocess.run(["ps", "-o", "pid=,comm=", "--ppid", str(gimp_pid)],
                            capture_output=True, text=True).stdout.split("\n")
        pid = next((int(l.split()[0]) for l in ps
                    if l.split()[1:2] == ["gimp-neural-sty"]), None)
        time.sleep(0.2)
    elapsed = None
    running = False
    environ = {}
    if pid:
        time.sleep(3.0)   # well into the optimisation
        try:   # the environment the running image was executed with
            with open(f"/proc/{pid}/environ", "rb") as f:
                environ = dict(v.decode(errors="replace").split("=", 1)
                               for v in f.read().split(b"\0") if b"=" in v)
        except OSError:
            pass
        running = thread.is_alive()
        os.kill(pid, 9)
        start = time.monotonic()
        thread.join(timeout=HANG_S)
        elapsed = time.monotonic() - start
    save_drawable(port, "cancel-after.png")
    check(pid is not None and running and elapsed is not None and elapsed < HANG_S
          and "reply" in answer and answer["reply"][0] != 0
          and exists("cancel-after.png")
          and np.array_equal(load("cancel-after.png"), before),
          "cancel (plug-in killed mid-run, as GIMP does): the call fails "
          "and the image is untouched",
          f"pid {pid}, ended {elapsed} s after the kill, reply {answer.get('reply')!r}")
    flags = next((l.split() for l in open("/proc/cpuinfo") if l.startswith("flags")), [])
    simulated = environ.get("NS_BLAS_SIMULATE_FALLBACK") == "1"
    corrected = (environ.get("NS_BLAS_REEXEC", "").startswith("Prescott ")
                 and environ.get("OPENBLAS_CORETYPE") not in (None, "Prescott"))
    check(pid is not None and environ
          and (not simulated or not {"avx2", "fma"} <= set(flags)
               or corrected),
          "the plug-in as GIMP starts it re-executes itself (same pid) onto "
          "the CPU's BLAS kernel when the BLAS fell back to a generic one",
          f"pid {pid}, simulated {simulated}, NS_BLAS_REEXEC "
          f"{environ.get('NS_BLAS_REEXEC')!r}, OPENBLAS_CORETYPE "
          f"{environ.get('OPENBLAS_CORETYPE')!r}")


def save_drawable(port, name):
    path = os.path.join(OUT, name)
    return script_fu(port, f'(gimp-file-save RUN-NONINTERACTIVE 1 '
                           f'(car (gimp-image-get-active-drawable 1)) "{path}" "{path}")')


def private_gimpdir():
    """A GIMP folder of the test's own for the window, so that nothing in
    the user's (a crash-recovery question, window layout) can block it.  It
    finds the installed plug-in and scripts through gimprc and is kept
    between runs, so only the first start queries every plug-in."""
    home = os.path.join(BUILD, "tests", "gimp-home")
    shutil.rmtree(os.path.join(home, "backups"), ignore_errors=True)
    os.makedirs(home, exist_ok=True)
    with open(os.path.join(home, "gimprc"), "w") as f:
        f.write(f'(plug-in-path "{GIMPDIR}/plug-ins:${{gimp_plug_in_dir}}/plug-ins")\n'
                f'(script-fu-path "{GIMPDIR}/scripts:${{gimp_data_dir}}/scripts")\n')
    return home


def run_undo():
    if not os.environ.get("DISPLAY"):
        check(False, "undo: needs an X display (meson runs this under xvfb-run)")
        return
    port = free_port()
    log = open(GUI_LOG, "w")
    env = dict(os.environ, GIMP2_DIRECTORY=private_gimpdir(),
               NEURAL_STYLE_WEIGHTS_DIR=WEIGHTS, G_MESSAGES_DEBUG="NeuralStyle")
    if "OPENBLAS_CORETYPE" not in env:
        # every plug-in run in this window starts as if the BLAS had fallen
        # back to a generic kernel, so the re-exec that corrects it
        # (engine/ns_blas.h) runs under GIMP's pipes; check_cancel looks
        env.update(OPENBLAS_CORETYPE="Prescott", NS_BLAS_SIMULATE_FALLBACK="1")
    gimp = subprocess.Popen(
        ["gimp-2.10", "-n", "-d", "-f", "-s",
         "--batch-interpreter=plug-in-script-fu-eval",
         "-b", f'(plug-in-script-fu-server RUN-NONINTERACTIVE "127.0.0.1" {port} "")'],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env)
    try:
        deadline = time.monotonic() + SLOW_HANG_S  # slow when the machine is busy
        while True:
            try:
                script_fu(port, "(gimp-version)", timeout=10)
                break
            except OSError:
                if time.monotonic() > deadline or gimp.poll() is not None:
                    check(False, "undo: GIMP window with the Script-Fu server started")
                    return
                time.sleep(0.5)
        src = os.path.join(OUT, "undo-src.png")
        save = lambda name: save_drawable(port, name)
        err, answer = script_fu(port, f'(let ((i (car (gimp-file-load RUN-NONINTERACTIVE "{src}" "{src}")))) '
                                      f'(gimp-display-new i) i)')
        windows = xdotool("search", "--sync", "--name", "undo-src")
        err2, _ = script_fu(port, f'(plug-in-neural-style RUN-NONINTERACTIVE 1 '
                                  f'(car (gimp-image-get-active-drawable 1)) '
                                  f'"{OUT}/style.png" 1.0 1.0 {ITERS} 0 0 0 "" 0.0)')
        save("undo-after.png")
        script_fu(port, "(gimp-displays-flush)")
        time.sleep(1.0)
        subprocess.run(["import", "-window", "root",
                        os.path.join(OUT, "undo-screenshot-stylized.png")], timeout=30)
        if windows:
            xdotool("windowfocus", "--sync", windows[0])
            xdotool("key", "--clearmodifiers", "ctrl+z")
            time.sleep(1.0)
        save("undo-undone.png")
        subprocess.run(["import", "-window", "root",
                        os.path.join(OUT, "undo-screenshot-undone.png")], timeout=30)
        if windows:
            xdotool("key", "--clearmodifiers", "ctrl+y")
            time.sleep(1.0)
        save("undo-redone.png")

        orig = load("undo-src.png")
        after = load("undo-after.png") if exists("undo-after.png") else None
        check(err == 0 and err2 == 0 and windows and after is not None
              and np.abs(after.astype(int) - orig).mean() > 2.0,
              "undo: the procedure changed the image shown in a GIMP window",
              f"load {err} {answer!r}, run {err2}, windows {windows}")
        check(exists("undo-undone.png")
              and np.array_equal(load("undo-undone.png"), orig),
              "undo: one Ctrl+Z restores every pixel byte-exactly")
        check(exists("undo-redone.png") and after is not None
              and np.array_equal(load("undo-redone.png"), after),
              "undo: Ctrl+Y redoes the whole result (it was one undo step)")
        check_dialog(port, after)
        check_dialog_preview(port)
        check_cancel(port, gimp.pid, after)
    finally:
        try:
            script_fu(port, "(gimp-quit 1)", timeout=3)
        except OSError:
            pass
        try:
            gimp.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(gimp.pid, 15)
            gimp.wait(timeout=10)
        log.close()


def main():
    make_inputs()
    stderr, seconds = run_console()
    print(f"# gimp-console batch launch: {seconds:.1f} s")
    check_console(stderr)
    start = time.monotonic()
    run_undo()
    print(f"# GIMP window undo check: {time.monotonic() - start:.1f} s")
    print(f"1..{n_tests}")
    return 1 if n_failed else 0


if __name__ == "__main__":
    sys.exit(main())
