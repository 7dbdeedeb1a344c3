#!/bin/bash
# One table of the project's speed on this machine (docs/benchmark.md):
# the BLAS kernel in use, sgemm, conv2d, the generator, the CLI's preset and
# any-image paths, the dialog's preview and 24 MP and 108 MP photos (time
# and peak memory).  Medians of several runs; the load average at start comes first
# because a busy machine changes every figure.
#
#   bench/run.sh [BUILD_DIR=build]
#
# Environment: RUNS (fast rows, default 5), SLOW_RUNS (the CLI rows,
# default 3), BIG_RUNS (the 6000x4000 photo, default 1), PRESET (default
# vangogh-harvest), GMIC_ENV (environment for G'MIC's row, e.g.
# OMP_WAIT_POLICY=PASSIVE on a loaded machine: bench/README.md).
# OPENBLAS_CORETYPE=Prescott bench/run.sh gives the
# figures of a CPU that Debian 12's OpenBLAS does not know (its fall-back;
# a set OPENBLAS_CORETYPE always wins, engine/ns_blas.h).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
RUNS=${RUNS:-5} SLOW_RUNS=${SLOW_RUNS:-3} BIG_RUNS=${BIG_RUNS:-1}
PRESET=${PRESET:-vangogh-harvest}
ns=$build/cli/neural-style
for tool in "$ns" "$build/bench/bench-conv" "$build/bench/bench-generator" /usr/bin/time convert; do
  command -v "$tool" >/dev/null || { echo "bench/run.sh: $tool is missing (build first; apt-get install time imagemagick)" >&2; exit 2; }
done
export NEURAL_STYLE_WEIGHTS_DIR=${NEURAL_STYLE_WEIGHTS_DIR:-$top/weights}
photo=/usr/share/gimp/2.0/images/gimp-splash.png     # 1920x1080, with GIMP
style=/usr/share/backgrounds/rhythm.jpg              # ukui-wallpapers
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

load=$(cut -d' ' -f1-3 /proc/loadavg)
# inputs: 1155x866 = 1.0 MP, 6000x4000 = 24 MP and 12000x9000 = 108 MP,
# from the same photo (the last through PIL: Debian's ImageMagick policy
# sends an image that large to its disk cache, minutes)
convert "$photo" -resize '1155x866!' "$tmp/1mp.png"
convert "$photo" -resize '6000x4000!' -quality 92 "$tmp/24mp.jpg"
/usr/bin/python3 -c 'import sys; from PIL import Image
Image.open(sys.argv[1]).convert("RGB").resize((12000, 9000), Image.BICUBIC).save(sys.argv[2], quality=92)' \
  "$photo" "$tmp/108mp.jpg"

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
# wall seconds and peak RSS (kB) of one command, as "S KB"
timed() { /usr/bin/time -f '%e %M' -o "$tmp/time" "$@" >/dev/null 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }; cat "$tmp/time"; }
# median wall seconds of N runs of a command, and the largest peak RSS in MB
runs() {
  local n=$1; shift
  for ((i = 0; i < n; i++)); do timed "$@"; done > "$tmp/runs"
  echo "$(cut -d' ' -f1 "$tmp/runs" | median) $(cut -d' ' -f2 "$tmp/runs" | sort -g | tail -1 | awk '{printf "%.0f", $1 / 1024}')"
}
# the field before the word w ("GFLOP/s;" counts as "GFLOP/s")
field_before() { awk -v w="$1" '{for (i = 2; i <= NF; i++) {t = $i; sub(/[;,]$/, "", t); if (t == w) {print $(i - 1); exit}}}'; }

kernel=$("$ns" --version | sed -n 's/^BLAS kernel: //p')
blas=$("$ns" --version | sed -n 's/^BLAS: //p')

"$build/bench/bench-conv" "$RUNS" 256 > "$tmp/conv"
sgemm=$(grep '^sgemm 1024x1024x1024' "$tmp/conv" | field_before GFLOP/s)
conv=$(grep '^conv2d forward ' "$tmp/conv" | field_before GFLOP/s)
conv_ms=$(grep '^conv2d forward ' "$tmp/conv" | field_before ms)

"$build/bench/bench-generator" "$NEURAL_STYLE_WEIGHTS_DIR/presets.nsw" "$RUNS" 1000 > "$tmp/gen"
# the last forward line is the conv kernel in use (the first, im2col, is
# bench-generator's "before")
gen_line=$(grep '^  forward, ' "$tmp/gen" | tail -n 1)
gen=$(field_before GFLOP/s <<<"$gen_line")
gen_s=$(sed 's/.*median of [0-9]* \([0-9.]*\) s.*/\1/' <<<"$gen_line")
gen_ratio=$(awk -v g="$gen" -v s="$sgemm" 'BEGIN {printf "%.2f", g / s}')

"$ns" stylize "$tmp/1mp.png" "$tmp/out.png" --style "$PRESET" >/dev/null   # warm the file cache
read -r cli_s cli_mb < <(runs "$SLOW_RUNS" "$ns" stylize "$tmp/1mp.png" "$tmp/out.png" --style "$PRESET")

preview="not built (needs the plug-in's libraries)"
if [ -x "$build/bench/bench-preview" ]; then
  preview=$("$build/bench/bench-preview" $((RUNS * 2)) "$PRESET" 256 |
            sed 's/.*median of \([0-9]*\) \([0-9.]*\) ms.*/\2 ms (median of \1)/')
fi

read -r opt_s opt_mb < <(runs "$SLOW_RUNS" "$ns" stylize "$tmp/1mp.png" "$tmp/out.png" --style-image "$style" --size 512)
# G'MIC's non-neural stylize on the same 512 px photo and style, alternating
# with ours (issue 12); bench/gmic-vs-ours.sh does it over the eval pairs
gmic_row="not installed (apt-get install gmic)"
if command -v gmic >/dev/null; then
  convert "$tmp/1mp.png" -resize 512x512 "$tmp/512.png"
  for ((i = 0; i < SLOW_RUNS; i++)); do
    # shellcheck disable=SC2086
    timed env ${GMIC_ENV:-} gmic "$tmp/512.png" "$style" -stylize[0] [1] -o[0] "$tmp/gmic.png" >>"$tmp/gmic"
    timed "$ns" stylize "$tmp/512.png" "$tmp/out.png" --style-image "$style" >>"$tmp/ours512"
  done
  g512=$(cut -d' ' -f1 "$tmp/gmic" | median) o512=$(cut -d' ' -f1 "$tmp/ours512" | median)
  gmic_row="$g512 s; ours $o512 s alternating, ratio $(awk -v o="$o512" -v g="$g512" 'BEGIN {printf "%.2f", o / g}')"
fi
read -r big_s big_mb < <(runs "$BIG_RUNS" "$ns" stylize "$tmp/24mp.jpg" "$tmp/out.jpg" --style "$PRESET")
read -r bigo_s bigo_mb < <(runs "$BIG_RUNS" "$ns" stylize "$tmp/24mp.jpg" "$tmp/out.jpg" --style-image "$style")
# the full-size steps run a band of rows at a time: the peak is set by the
# working size, not by the photo (docs/optimisation.md, Memory)
read -r huge_s huge_mb < <(runs "$BIG_RUNS" "$ns" stylize "$tmp/108mp.jpg" "$tmp/out.jpg" --style "$PRESET")
read -r hugeo_s hugeo_mb < <(runs "$BIG_RUNS" "$ns" stylize "$tmp/108mp.jpg" "$tmp/out.jpg" --style-image "$style")

cat <<TABLE
$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average at start $load
BLAS: $blas

| figure | value |
|---|---|
| BLAS kernel in use | $kernel |
| sgemm 1024^3 (median of $RUNS) | $sgemm GFLOP/s |
| conv2d forward 64->64 3x3 256^2 (median of $RUNS) | $conv GFLOP/s ($conv_ms ms) |
| generator forward 1000x1000 (median of $RUNS) | $gen GFLOP/s, ${gen_ratio}x sgemm ($gen_s s) |
| CLI, 1 MP photo, --style $PRESET (median of $SLOW_RUNS) | $cli_s s, $cli_mb MB peak |
| dialog preview 256x256, $PRESET (worker, 1 BLAS thread) | $preview |
| CLI, 1 MP photo, --style-image (any image) at 512 px (median of $SLOW_RUNS) | $opt_s s, $opt_mb MB peak |
| G'MIC stylize, the same photo at 512 px and style (median of $SLOW_RUNS) | $gmic_row |
| CLI, 6000x4000 photo, --style $PRESET (median of $BIG_RUNS) | $big_s s, $big_mb MB peak |
| CLI, 6000x4000 photo, --style-image (median of $BIG_RUNS) | $bigo_s s, $bigo_mb MB peak |
| CLI, 12000x9000 photo, --style $PRESET (median of $BIG_RUNS) | $huge_s s, $huge_mb MB peak |
| CLI, 12000x9000 photo, --style-image (median of $BIG_RUNS) | $hugeo_s s, $hugeo_mb MB peak |
TABLE
