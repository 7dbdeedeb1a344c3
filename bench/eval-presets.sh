#!/bin/bash
# The preset figures of docs/generator.md: quality over the evaluation pairs
# (run-eval.sh) and the strength sweep (beta/alpha over 5 settings).
#
# usage: bench/eval-presets.sh WEIGHTS.nsw OUTDIR [quality|refine N|sweep]
#   quality    run-eval.sh with --style {style_name} at defaults
#   refine N   the same with --refine N
#   sweep      alpha 1, beta 0.1 0.3 1 3 10: mean structure and style
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
  *) echo "unknown mode $mode" >&2; exit 2 ;;
esac
