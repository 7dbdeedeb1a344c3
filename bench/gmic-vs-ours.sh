#!/bin/bash
# The any-image path against G'MIC's non-neural `stylize` at its defaults,
# on the evaluation pairs at 512 px (issue 12): the two commands alternate
# on each pair, RUNS times each; prints per pair the median wall seconds of
# both, their ratio (ours / G'MIC), the same for CPU seconds (user + system,
# steadier on a loaded machine) and both results' scores, then the median
# ratios over the pairs and the mean scores.  G'MIC is a bench-only
# dependency (apt-get install gmic).
#
#   bench/gmic-vs-ours.sh [BUILD_DIR=build]
#
# Environment: RUNS (default 3), PAIRS (default ../shared/eval/pairs.txt),
# OUT (folder for the inputs and results, default a temporary one),
# NS_ARGS (extra arguments for neural-style, default none), GMIC_ENV
# (environment for gmic, default none).  On a loaded machine G'MIC's OpenMP
# threads spin at every barrier: under load 7 one run took 64 s instead of
# 3.3 s.  GMIC_ENV=OMP_WAIT_POLICY=PASSIVE makes them sleep instead, which
# is the fair comparison there (4.9 s in the same minute).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
ns=$build/cli/neural-style
RUNS=${RUNS:-3} PAIRS=${PAIRS:-$top/../shared/eval/pairs.txt} NS_ARGS=${NS_ARGS:-} GMIC_ENV=${GMIC_ENV:-}
eval_dir=$(cd "$(dirname "$PAIRS")" && pwd)
photos=${PHOTOS:-$eval_dir/../data/photos} styles=${STYLES:-$eval_dir/../data/styles}
py=/usr/bin/python3
for tool in "$ns" gmic "$py" "$eval_dir/score.py"; do
  command -v "$tool" >/dev/null || { echo "gmic-vs-ours.sh: $tool is missing (build first; apt-get install gmic)" >&2; exit 2; }
done
if [ -n "${OUT:-}" ]; then mkdir -p "$OUT"; out=$OUT; else out=$(mktemp -d); trap 'rm -rf "$out"' EXIT; fi
export NEURAL_STYLE_WEIGHTS_DIR=${NEURAL_STYLE_WEIGHTS_DIR:-$top/weights}

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
# wall CPU_FILE COMMAND...: prints the wall seconds, appends user + system CPU seconds to CPU_FILE
wall() {
  local t0 t1 cpu=$1; shift
  t0=$(date +%s.%N)
  /usr/bin/time -f '%U %S' -o "$out/time" "$@" >/dev/null 2>"$out/err" || { cat "$out/err" >&2; exit 1; }
  t1=$(date +%s.%N)
  awk '{print $1 + $2}' "$out/time" >>"$cpu"
  echo "$t1 - $t0" | bc
}
scores() { $py "$eval_dir/score.py" "$1" "$2" "$3" --json | $py -c 'import json,sys; d=json.load(sys.stdin); print("%.4f %.4f %.4f %.4f" % (d["content_structure"], d["style_match"], d["colour_match"], d["texture_match"]))'; }

echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg); $RUNS runs each, alternating; BLAS kernel $("$ns" --version | sed -n 's/^BLAS kernel: //p'); gmic environment: ${GMIC_ENV:-none}"
printf '%-30s %-28s %7s %7s %6s %7s %7s %6s | %-27s | %-27s\n' content style gmic_s ours_s ratio \
  gmic_cpu ours_cpu cpu_r \
  "gmic: struct style col tex" "ours: struct style col tex"
: >"$out/rows"
while read -r c s; do
  [[ -z $c || $c == \#* ]] && continue
  name=$(basename "${c%.*}")__$(basename "${s%.*}")
  cin=$out/$name.content.png
  $py - "$photos/$c" "$cin" <<'PY'
import sys
from PIL import Image
im = Image.open(sys.argv[1]).convert("RGB"); s = 512 / max(im.size)
im.resize((round(im.size[0] * s), round(im.size[1] * s)), Image.LANCZOS).save(sys.argv[2])
PY
  : >"$out/g" ; : >"$out/o" ; : >"$out/gc" ; : >"$out/oc"
  for ((i = 0; i < RUNS; i++)); do
    # shellcheck disable=SC2086
    wall "$out/gc" env $GMIC_ENV gmic "$cin" "$styles/$s" -stylize[0] [1] -o[0] "$out/$name.gmic.png" >>"$out/g"
    # shellcheck disable=SC2086
    wall "$out/oc" "$ns" stylize "$cin" "$out/$name.ours.png" --style-image "$styles/$s" $NS_ARGS >>"$out/o"
  done
  g=$(median <"$out/g") o=$(median <"$out/o")
  r=$(echo "$o / $g" | bc -l)
  gc=$(median <"$out/gc") oc=$(median <"$out/oc")
  rc=$(echo "$oc / $gc" | bc -l)
  sg=$(scores "$cin" "$styles/$s" "$out/$name.gmic.png") so=$(scores "$cin" "$styles/$s" "$out/$name.ours.png")
  printf '%-30s %-28s %7.2f %7.2f %6.2f %7.2f %7.2f %6.2f | %-27s | %-27s\n' "$c" "$s" "$g" "$o" "$r" \
    "$gc" "$oc" "$rc" "$sg" "$so"
  echo "$g $o $r $sg $so $gc $oc $rc" >>"$out/rows"
done <"$PAIRS"
awk '{g += $1; o += $2; gc += $12; oc += $13; for (i = 4; i <= 11; i++) m[i] += $i} END {
  printf "%-59s %7.2f %7.2f %6s %7.2f %7.2f %6s | %.4f %.4f %.4f %.4f | %.4f %.4f %.4f %.4f\n", "mean of " NR,
    g / NR, o / NR, "", gc / NR, oc / NR, "", m[4] / NR, m[5] / NR, m[6] / NR, m[7] / NR,
    m[8] / NR, m[9] / NR, m[10] / NR, m[11] / NR }' "$out/rows"
echo "median ratio ours / gmic over the pairs: $(cut -d' ' -f3 "$out/rows" | median | awk '{printf "%.2f", $1}') wall, $(cut -d' ' -f14 "$out/rows" | median | awk '{printf "%.2f", $1}') CPU (user + system)"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
