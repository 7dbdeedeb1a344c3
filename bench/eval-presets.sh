#!/bin/bash
# The preset figures of docs/generator.md: quality over the evaluation pairs
# (run-eval.sh) and the strength sweep (beta/alpha over 5 settings).
#
# usage: bench/eval-presets.sh WEIGHTS.nsw OUTDIR [quality|refine N|sweep|seeds|blend]
#   quality    run-eval.sh with --style {style_name} at defaults
#   refine N   the same with --refine N
#   sweep      alpha 1, beta 0.1 0.3 1 3 10: mean structure and style
#   seeds      seeds 0 and 1: mean style of each, mean |difference| per pair
#   blend      each pair's style with hokusai-great-wave at mix 0, 0.5, 1
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
weights=$(realpath "${1:?usage: $0 WEIGHTS.nsw OUTDIR [quality|refine N|sweep]}")
outdir=${2:?OUTDIR}
mode=${3:-quality}
ns=${NS:-$here/build/cli/neural-style}
eval=${EVAL:-$here/../shared/eval/run-eval.sh}
run() { "$eval" -o "$1" "$ns stylize {content} {out} --weights $weights --style {style_name} $2"; }
case $mode in
  quality) run "$outdir" "" ;;
  refine) run "$outdir" "--refine ${4:?N}" ;;
  sweep)
    for beta in 0.1 0.3 1 3 10; do
      echo "beta $beta:"
      run "$outdir/beta-$beta" "--alpha 1 --beta $beta" | tail -n 2 | head -n 1
    done ;;
  seeds)
    for seed in 0 1; do
      echo "seed $seed:"
      run "$outdir/seed-$seed" "--seed $seed" | tail -n 2 | head -n 1
    done
    for f in "$outdir"/seed-0/*__*.png; do
      case $f in *.content.png) continue ;; esac
      /usr/bin/python3 - "$f" "$outdir/seed-1/$(basename "$f")" <<'PY'
import sys
import numpy as np
from PIL import Image
a, b = (np.asarray(Image.open(p).convert("RGB"), dtype=np.float64) / 255 for p in sys.argv[1:3])
print(f"{sys.argv[1].rsplit('/', 1)[-1]}: mean |seed 0 - seed 1| {np.abs(a - b).mean():.4f}")
PY
    done ;;
  blend)
    for mix in 0 0.5 1; do
      echo "mix $mix with hokusai-great-wave:"
      run "$outdir/mix-$mix" "--style2 hokusai-great-wave --mix $mix" | tail -n 2 | head -n 1
    done ;;
  *) echo "unknown mode $mode" >&2; exit 2 ;;
esac
