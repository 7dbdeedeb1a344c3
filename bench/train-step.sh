#!/bin/bash
# Issue 16's training-step figure: CPU-seconds and wall seconds per step of
# `neural-style train` at its defaults (batch 4, crop 128), two binaries
# alternating run by run, on one core with one BLAS thread (how
# tools/train-presets.sh is run).  A step is (time of 26 steps - time of
# 2 steps) / 24, so start-up, loading and the final write cancel out.
#
# usage: bench/train-step.sh ROUNDS BEFORE AFTER [extra train options]
#   BEFORE and AFTER: a neural-style binary, followed by train options for
#   that one alone if quoted with it (e.g. "build/cli/neural-style
#   --lambda-stroke 0" to run the step of a build that has no stroke loss);
#   PHOTOS=folder (default: the first 8 photos of ../shared/data/photos),
#   STYLE=image (default: vangogh-harvest), CORE=the core to pin (default 0).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
rounds=${1:?usage: $0 ROUNDS BEFORE_BINARY AFTER_BINARY [train options]}
before=${2:?BEFORE_BINARY}
after=${3:?AFTER_BINARY}
shift 3
data=$here/../shared/data
style=${STYLE:-$data/styles/vangogh-harvest.png}
core=${CORE:-0}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
photos=${PHOTOS:-$work/photos}
if [ -z "${PHOTOS:-}" ]; then
  mkdir "$photos"
  ls "$data/photos" | head -n 8 | while read -r f; do ln -s "$data/photos/$f" "$photos/"; done
fi

# prints "CPU-s wall-s" of one run of STEPS steps: run "BINARY [OPTIONS]" STEPS [OPTIONS]
run () {
  local cmd
  read -ra cmd <<<"$1"
  /usr/bin/time -f "%U %S %e" -o "$work/time" env OPENBLAS_NUM_THREADS=1 \
    taskset -c "$core" "${cmd[0]}" train --photos "$photos" --style "$style" \
    -o "$work/out.nsw" --steps "$2" --validate-every 1000 --log-every 1000 \
    "${cmd[@]:1}" "${@:3}" \
    > "$work/log" 2>&1 || { echo "$1 train failed:" >&2; cat "$work/log" >&2; exit 1; }
  awk '{ printf "%.4f %.4f", $1 + $2, $3 }' "$work/time"
}

for ((r = 1; r <= rounds; r++)); do
  for which in before after; do
    bin=$before; [ $which = after ] && bin=$after
    short=$(run "$bin" 2 "$@")
    long=$(run "$bin" 26 "$@")
    read -r c2 w2 <<<"$short"
    read -r c26 w26 <<<"$long"
    awk -v r="$r" -v n=$which -v c2="$c2" -v c26="$c26" -v w2="$w2" -v w26="$w26" \
      'BEGIN { printf "round %d %-6s CPU-s/step %.4f  wall/step %.4f\n", r, n, (c26 - c2) / 24, (w26 - w2) / 24 }'
  done
done | tee "$work/rounds"
# median of column COL over the rounds of WHICH
median () {
  awk -v n="$1" -v col="$2" '$3 == n { print $col }' "$work/rounds" | sort -g |
    awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
cb=$(median before 5) ca=$(median after 5)
awk -v cb="$cb" -v ca="$ca" -v wb="$(median before 7)" -v wa="$(median after 7)" 'BEGIN {
  printf "median  before CPU-s/step %.4f (wall %.4f)  after %.4f (wall %.4f)  speed-up %.2fx\n", cb, wb, ca, wa, cb / ca }'
