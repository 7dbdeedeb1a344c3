#!/usr/bin/python3
# The installed plug-in inside a real GIMP 3, TAP output.
#
# Part 1: one gimp-console-3.0 batch launch runs the PDB cases on small
# images this script makes; its answers go to results.txt, its images to PNG
# files, and the checks below compare them pixel for pixel.  The batch
# script (neural-style-batch.scm) processes a folder in the same launch.
# Part 2: the real GIMP 3 window (under xvfb-run): the dialog opens on a
# displayed image, its preview fills (a screenshot is saved and checked),
# Return presses OK, then one Ctrl+Z in the image window restores every
# pixel.
#
# Run by meson on a GIMP 3 machine (Debian 13) and by tests/debian13.sh in
# a Debian 13 root on the Debian 12 machine.
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
from PIL import Image

BUILD = os.environ.get("NS_BUILD_ROOT", os.getcwd())
SOURCE = os.environ.get("NS_SOURCE_ROOT",
                        os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(BUILD, "tests", "gimp3-out")
PRESET = "vangogh-harvest"        # NS_DEFAULT_PRESET
PRESET2 = "hokusai-great-wave"
ITERS = 4                          # few optimiser steps: behaviour, not looks
# bounds that only catch a hang: GIMP 3's first start builds its caches, and
# each plug-in call is a process start (minutes on a machine loaded 5x)
HANG_S = 1800

n_tests = 0
n_failed = 0


def check(ok, what, detail=""):
    global n_tests, n_failed
    n_tests += 1
    print(("ok" if ok else "not ok") + f" {n_tests} - {what}"
          + (f" ({detail})" if detail and not ok else ""))
    sys.stdout.flush()


def path(name):
    return os.path.join(OUT, name)


def load(name):
    return np.asarray(Image.open(path(name)).convert("RGB")).astype(int)


def exists(name):
    return os.path.isfile(path(name))


def make_inputs():
    shutil.rmtree(OUT, ignore_errors=True)
    for d in ("batch-in", "batch-out"):
        os.makedirs(path(d))
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:72, 0:96]
    photo = np.stack([x * 2.5, y * 3.0, 128 + 60 * np.sin(x / 7.0)], axis=2)
    photo = np.clip(photo + rng.normal(0, 12, photo.shape), 0, 255).astype(np.uint8)
    Image.fromarray(photo).save(path("photo.png"))
    stripes = ((x // 6 + y // 6) % 2 * 200 + 30).astype(np.uint8)
    Image.fromarray(np.stack([stripes, 255 - stripes, stripes // 2], axis=2)).save(path("style.png"))
    for name in ("a.png", "b.png"):
        Image.fromarray(photo[::-1] if name == "b.png" else photo).save(path("batch-in/" + name))
    # a truncated PNG: the batch skips it and names it
    data = open(path("photo.png"), "rb").read()
    open(path("batch-in/c.png"), "wb").write(data[: len(data) // 2])


# Each bad call: name, the parameter its message must name, and the
# arguments after image and drawables.  A number out of its declared range
# never reaches the plug-in: Script-Fu refuses it and names the argument by
# its position ("argument 5 in call to plug-in-neural-style ... out of
# range"); POSITION maps the names to those positions.
POSITION = {"alpha": 5, "beta": 6, "refine-iterations": 7, "seed": 9, "mix": 12}
P = f'"{PRESET}"'
BAD_CASES = [
    ("alpha negative", "alpha", f'{P} -1.0 1.0 0 FALSE 0 FALSE "" 0.0'),
    ("alpha too large", "alpha", f'{P} 2e6 1.0 0 FALSE 0 FALSE "" 0.0'),
    ("beta negative", "beta", f'{P} 1.0 -0.5 0 FALSE 0 FALSE "" 0.0'),
    ("alpha and beta both 0", "alpha, beta", f'{P} 0.0 0.0 0 FALSE 0 FALSE "" 0.0'),
    ("refine-iterations negative", "refine-iterations", f'{P} 1.0 1.0 -1 FALSE 0 FALSE "" 0.0'),
    ("refine-iterations too large", "refine-iterations", f'{P} 1.0 1.0 100001 FALSE 0 FALSE "" 0.0'),
    ("seed negative", "seed", f'{P} 1.0 1.0 0 FALSE -1 FALSE "" 0.0'),
    ("style empty", "style", '"" 1.0 1.0 0 FALSE 0 FALSE "" 0.0'),
    ("style unknown preset", "style", '"no-such-preset" 1.0 1.0 0 FALSE 0 FALSE "" 0.0'),
    ("style layer that is not a layer", "style", '"layer:999999" 1.0 1.0 0 FALSE 0 FALSE "" 0.0'),
    ("style layer:abc", "style", '"layer:abc" 1.0 1.0 0 FALSE 0 FALSE "" 0.0'),
    ("mix above 1", "mix", f'{P} 1.0 1.0 0 FALSE 0 FALSE "{PRESET2}" 1.5'),
    ("style2 unknown preset", "style2", f'{P} 1.0 1.0 0 FALSE 0 FALSE "no-such-preset" 0.5'),
    ("style2 a path", "style2", f'{P} 1.0 1.0 0 FALSE 0 FALSE "/etc/passwd" 0.5'),
]


def scheme_batch():
    o = OUT
    bad = "\n".join(
        f'(put "bad {name}" (try (lambda () (plug-in-neural-style RUN-NONINTERACTIVE '
        f'bad (drws bad) {args}))))'
        for name, _, args in BAD_CASES)
    return f'''
(begin
(define res (open-output-file "{o}/results.txt"))
(define (put key value) (write key res) (display " " res) (write value res) (newline res))
; catch, keeping the message (script-fu-compat's catch drops it): the
; error hook records it and goes on to the usual one, so catches inside the
; thunk (the batch script's) still work
(define last-error (list))
(define usual-error-hook *error-hook*)
(set! *error-hook* (lambda args (set! last-error args) (apply usual-error-hook args)))
(define (try thunk)
  (let ((r (catch (quote threw) (list (quote ok) (thunk)))))
    (if (eq? r (quote threw)) (cons (quote error) last-error) r)))
(define (load name) (car (gimp-file-load RUN-NONINTERACTIVE (string-append "{o}/" name))))
(define (drws image) (car (gimp-image-get-selected-drawables image)))
(define (save image name) (gimp-file-save RUN-NONINTERACTIVE image (string-append "{o}/" name) -1))
(define (stylize image style iters new-layer)
  (plug-in-neural-style RUN-NONINTERACTIVE image (drws image) style 1.0 1.0 iters FALSE 0 new-layer "" 0.0))

(let ((i (load "photo.png")))
  (put "preset" (try (lambda () (stylize i "{PRESET}" 0 FALSE))))
  (save i "out-preset.png"))
(let ((i (load "photo.png")))
  (put "blend" (try (lambda () (plug-in-neural-style RUN-NONINTERACTIVE i (drws i) "{PRESET}" 1.0 1.0 0 FALSE 0 FALSE "{PRESET2}" 0.5))))
  (save i "out-blend.png"))
(let ((i (load "photo.png")))
  (put "style image" (try (lambda () (stylize i "{o}/style.png" {ITERS} FALSE))))
  (save i "out-image.png"))
(let ((i (load "photo.png")))
  (gimp-image-select-rectangle i CHANNEL-OP-REPLACE 20 10 40 30)
  (put "selection" (try (lambda () (stylize i "{PRESET}" 0 FALSE))))
  (gimp-selection-none i)
  (save i "out-selection.png"))
(let ((i (load "photo.png")))
  (put "new layer" (try (lambda () (stylize i "{PRESET}" 0 TRUE))))
  (put "layers after new layer" (vector-length (car (gimp-image-get-layers i))))
  (save i "out-new-layer.png"))
; two selected layers: each is stylized
(let* ((i (load "photo.png"))
       (base (vector-ref (drws i) 0))
       (top (car (gimp-layer-copy base))))
  (gimp-image-insert-layer i top 0 0)
  (gimp-layer-set-offsets top 48 0)
  (gimp-image-set-selected-layers i (vector base top))
  (put "two layers" (try (lambda () (stylize i "{PRESET}" 0 FALSE))))
  (gimp-item-set-visible top FALSE)
  (save i "out-two-base.png")
  (gimp-item-set-visible top TRUE)
  (gimp-item-set-visible base FALSE)
  (save i "out-two-top.png"))
(define bad (load "photo.png"))
{bad}
(save bad "out-bad.png")
(put "batch" (try (lambda () (neural-style-batch "{o}/batch-in/*.png" "{o}/batch-out" "{PRESET}" 1.0 1.0))))
(close-output-port res))
'''


def results():
    out = {}
    if exists("results.txt"):
        for line in open(path("results.txt")):
            m = re.match(r'"([^"]*)" (.*)$', line)
            if m:
                out[m.group(1)] = m.group(2)
    return out


def run_batch():
    env = dict(os.environ)
    log = open(path("batch.log"), "w")
    try:
        subprocess.run(["gimp-console-3.0", "-i", "-d", "-f",
                        "--batch-interpreter=plug-in-script-fu-eval", "--quit",
                        "-b", scheme_batch(), "-b", "(gimp-quit 0)"],
                       stdout=log, stderr=subprocess.STDOUT, env=env,
                       timeout=HANG_S)
    except subprocess.TimeoutExpired:
        check(False, "gimp-console-3.0 batch finished", f"over {HANG_S} s")
    r = results()
    orig = load("photo.png")

    def painted(name):
        return exists(name) and np.abs(load(name) - orig).mean() > 8

    check(r.get("preset", "").startswith("(ok"), "a preset paints without error", r.get("preset"))
    check(painted("out-preset.png"), "a preset changes the photo")
    check(r.get("blend", "").startswith("(ok") and painted("out-blend.png"),
          "two presets blended paint", r.get("blend"))
    check(r.get("style image", "").startswith("(ok") and painted("out-image.png"),
          "a style image paints (optimisation path)", r.get("style image"))
    if exists("out-selection.png"):
        sel = load("out-selection.png")
        inside = np.zeros(orig.shape[:2], bool)
        inside[10:40, 20:60] = True
        check(np.array_equal(sel[~inside], orig[~inside]),
              "pixels outside a selection are byte-identical")
        check(np.abs(sel[inside] - orig[inside]).mean() > 8,
              "pixels inside the selection are painted")
    else:
        check(False, "selection run saved its image")
    check(r.get("layers after new layer") == "2" and exists("out-new-layer.png"),
          "new-layer TRUE adds one layer", r.get("layers after new layer"))
    ok_two = r.get("two layers", "").startswith("(ok")
    check(ok_two and painted("out-two-base.png")
          and exists("out-two-top.png")
          and np.abs(load("out-two-top.png")[:, 48:] - orig[:, :48]).mean() > 8,
          "two selected layers: each is stylized", r.get("two layers"))
    for name, param, _ in BAD_CASES:
        answer = r.get("bad " + name, "")
        named = f"{param}:" in answer or (
            param in POSITION and f"argument {POSITION[param]} in call" in answer)
        check(answer.startswith("(error") and named,
              f"bad parameter ({name}): an error naming '{param}'", answer)
    check(exists("out-bad.png") and np.array_equal(load("out-bad.png"), orig),
          "after every bad call the image is unchanged")
    batch = r.get("batch", "")
    check(batch.startswith("(ok (2 1") and "c.png" in batch,
          "the batch script: 2 done, the truncated file failed and named", batch)
    check(all(os.path.isfile(path("batch-out/" + n)) for n in ("a.png", "b.png"))
          and not os.path.exists(path("batch-out/c.png")),
          "the batch script wrote a.png and b.png, no c.png")


def run_cancel():
    """GIMP cancels a plug-in from its progress bar by closing it (the
    process ends); do the same to a long run: the call fails at once, GIMP
    goes on, and the image is untouched (the plug-in writes nothing before
    the engine is done)."""
    scheme = f'''
(begin
(define res (open-output-file "{OUT}/cancel.txt"))
(define i (car (gimp-file-load RUN-NONINTERACTIVE "{OUT}/photo.png")))
(define r (catch (quote threw)
  (plug-in-neural-style RUN-NONINTERACTIVE i (car (gimp-image-get-selected-drawables i))
                        "{OUT}/style.png" 1.0 1.0 50000 FALSE 0 FALSE "" 0.0)))
(write (if (eq? r (quote threw)) (quote failed) (quote finished)) res)
(close-output-port res)
(gimp-file-save RUN-NONINTERACTIVE i "{OUT}/out-cancel.png" -1))
'''
    log = open(path("cancel.log"), "w")
    gimp = subprocess.Popen(["gimp-console-3.0", "-i", "-d", "-f",
                             "--batch-interpreter=plug-in-script-fu-eval", "--quit",
                             "-b", scheme, "-b", "(gimp-quit 0)"],
                            stdout=log, stderr=subprocess.STDOUT)
    pid = None

    def plug_in():
        nonlocal pid
        ps = subprocess.run(["ps", "-o", "pid=,comm=", "--ppid", str(gimp.pid)],
                            capture_output=True, text=True).stdout.splitlines()
        pid = next((int(l.split()[0]) for l in ps if l.split()[1:2] == ["gimp-neural-sty"]), None)
        return pid is not None

    elapsed = None
    if wait_for(plug_in, HANG_S):
        time.sleep(3.0)   # well into the optimisation
        os.kill(pid, signal.SIGKILL)
        start = time.monotonic()
        try:
            gimp.wait(timeout=HANG_S)
            elapsed = time.monotonic() - start
        except subprocess.TimeoutExpired:
            gimp.kill()
    else:
        gimp.kill()
    answer = open(path("cancel.txt")).read() if exists("cancel.txt") else ""
    check(pid is not None and elapsed is not None and answer == "failed"
          and exists("out-cancel.png")
          and np.array_equal(load("out-cancel.png"), load("photo.png")),
          "cancel (plug-in closed mid-run, as GIMP does): the call fails at once "
          "and the image is untouched",
          f"pid {pid}, GIMP done {elapsed} s after, answer {answer!r}")


# ---- part 2: the dialog and undo in a GIMP 3 window --------------------------

def xdotool(*args):
    return subprocess.run(["xdotool", *args], capture_output=True, text=True,
                          timeout=60).stdout.split()


def wait_for(predicate, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def scheme_gui():
    o = OUT
    # the script waits for the test's flag files between its steps
    return f'''
(begin
(define (wait-for name)
  (let ((files (car (file-glob (string-append "{o}/" name) 1))))
    (if (= 0 (if (vector? files) (vector-length files) (length files))) (wait-for name))))
(define i (car (gimp-file-load RUN-NONINTERACTIVE "{o}/photo.png")))
(gimp-display-new i)
(gimp-displays-flush)
(plug-in-neural-style RUN-INTERACTIVE i (car (gimp-image-get-selected-drawables i)) "{PRESET}" 1.0 1.0 0 FALSE 0 FALSE "" 0.0)
(gimp-displays-flush)
(gimp-file-save RUN-NONINTERACTIVE i "{o}/gui-after.png" -1)
(wait-for "flag-undone")
(gimp-file-save RUN-NONINTERACTIVE i "{o}/gui-undone.png" -1)
; the dialog's settings again, from GIMP 3's stored last values, on a fresh copy
(define j (car (gimp-file-load RUN-NONINTERACTIVE "{o}/photo.png")))
(plug-in-neural-style RUN-WITH-LAST-VALS j (car (gimp-image-get-selected-drawables j)) "{PRESET}" 1.0 1.0 0 FALSE 0 FALSE "" 0.0)
(gimp-file-save RUN-NONINTERACTIVE j "{o}/gui-last-values.png" -1)
(gimp-quit 1))
'''


def run_gui():
    if not os.environ.get("DISPLAY"):
        check(False, "dialog: needs an X display (run under xvfb-run)")
        return
    env = dict(os.environ, G_MESSAGES_DEBUG="NeuralStyle")
    log = open(path("gui.log"), "w")
    # GIMP 3's window wants a session bus
    gimp = subprocess.Popen(["dbus-run-session", "--", "gimp-3.0", "-d", "-f", "--no-splash",
                             "--batch-interpreter=plug-in-script-fu-eval",
                             "-b", scheme_gui()],
                            stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        dialogs = []
        wait_for(lambda: bool(dialogs.extend(xdotool("search", "--name", "^Neural Style$")) or dialogs), HANG_S)
        check(bool(dialogs), "dialog: Filters > Artistic > Neural Style opens its window")
        filled = wait_for(lambda: "preview_ms" in open(path("gui.log"), errors="replace").read(), 300)
        check(filled, "dialog: the preview fills (a preview painted off the main loop)")
        time.sleep(1.0)
        subprocess.run(["xwd", "-root", "-silent", "-out", path("dialog.xwd")], timeout=60)
        subprocess.run(["convert", path("dialog.xwd"), path("dialog.png")], timeout=60)
        if exists("dialog.png"):
            shot = np.asarray(Image.open(path("dialog.png")).convert("RGB")).astype(int)
            colours = len(np.unique(shot.reshape(-1, 3)[::7], axis=0))
            check(shot.std() > 20 and colours > 200,
                  "dialog: the screenshot is not blank", f"std {shot.std():.1f}, {colours} colours")
        else:
            check(False, "dialog: a screenshot was saved")
        def previews():
            return [l for l in open(path("gui.log"), errors="replace") if "preview_ms" in l]
        varied = False
        if dialogs and filled:
            # keyboard only: New _variation (Alt+V) paints a preview of
            # another seed, then _OK (Alt+O) applies it
            count = len(previews())
            xdotool("windowfocus", "--sync", dialogs[0])
            xdotool("key", "--clearmodifiers", "alt+v")
            varied = (wait_for(lambda: len(previews()) > count, 120)
                      and re.search(r"\bseed [1-9]", previews()[-1]) is not None)
            time.sleep(0.5)
        check(varied, "dialog: New variation (Alt+V) paints a preview of another seed",
              previews()[-1].strip() if previews() else "no preview line")
        if dialogs:
            xdotool("windowfocus", "--sync", dialogs[0])
            xdotool("key", "--clearmodifiers", "alt+o")
        applied = wait_for(lambda: exists("gui-after.png"), HANG_S)
        time.sleep(0.5)
        check(applied and np.abs(load("gui-after.png") - load("photo.png")).mean() > 8,
              "dialog: OK paints the image")
        # the image window: its title names the image's size
        windows = xdotool("search", "--onlyvisible", "--name", "96x72")
        if windows:
            xdotool("windowfocus", "--sync", windows[0])
            xdotool("key", "--clearmodifiers", "ctrl+z")
        for w in [] if windows else xdotool("search", "--onlyvisible", "--name", "."):
            name = subprocess.run(["xdotool", "getwindowname", w], capture_output=True,
                                  text=True, timeout=30).stdout.strip()
            print(f"# no image window; window {w}: {name}")
        time.sleep(1.0)
        open(path("flag-undone"), "w").close()
        undone = wait_for(lambda: exists("gui-undone.png"), 120)
        time.sleep(0.5)
        check(undone and np.array_equal(load("gui-undone.png"), load("photo.png")),
              "undo: one Ctrl+Z restores every pixel byte-exactly")
        last = wait_for(lambda: exists("gui-last-values.png"), HANG_S)
        time.sleep(0.5)
        check(last and applied and np.array_equal(load("gui-last-values.png"), load("gui-after.png")),
              "last values: RUN-WITH-LAST-VALS repeats the dialog's result (its seed "
              "included) byte for byte")
    finally:
        try:
            gimp.wait(timeout=60)
        except subprocess.TimeoutExpired:
            gimp.kill()
            gimp.wait()


def main():
    make_inputs()
    run_batch()
    run_cancel()
    run_gui()
    print(f"1..{n_tests}")
    return 1 if n_failed else 0


if __name__ == "__main__":
    sys.exit(main())
