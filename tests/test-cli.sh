#!/bin/bash
# The neural-style command's answers to good and bad input: exit code
# (0 ok, 1 runtime error, 2 usage error) and exactly one line on stderr.
# TAP output.  usage: test-cli.sh PATH/TO/neural-style PATH/TO/signal-shim.so
set -u
ns=${1:?path to neural-style}
shim=${2:?path to the signal shim (tests/signal-shim.c)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 failed=0

# A 24x16 colour ramp as binary PPM (gdk-pixbuf reads it; no other tool needed).
ppm() {
  { printf 'P6\n24 16\n255\n'
    for ((y = 0; y < 16; y++)); do for ((x = 0; x < 24; x++)); do
      printf "\\$(printf %03o $((x * 10)))\\$(printf %03o $((y * 15)))\\$(printf %03o $(((x + y) * 5)))"
    done; done; } > "$1"
}
ppm "$tmp/photo.ppm"
ppm "$tmp/style.ppm"
echo "not an image" > "$tmp/junk.png"
printf '\x89NSW\r\n\x1a\nthis file ends here' > "$tmp/short.nsw"

# expect CODE PATTERN DESCRIPTION -- ARGS...: exit code, one stderr line matching PATTERN
expect() {
  local code=$1 pattern=$2 what=$3; shift 4
  n=$((n + 1))
  "$ns" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
  local rc=$? lines
  lines=$(wc -l <"$tmp/err")
  if [ "$rc" -eq "$code" ] && [ "$lines" -eq 1 ] && grep -Eq -- "$pattern" "$tmp/err" &&
     grep -q '^neural-style: ' "$tmp/err"; then
    echo "ok $n - $what"
  else
    echo "not ok $n - $what (exit $rc, want $code; $lines stderr lines: $(head -c 200 "$tmp/err"))"
    failed=$((failed + 1))
  fi
}

ok_run() {
  local what=$1; shift
  n=$((n + 1))
  if "$ns" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null; then echo "ok $n - $what"
  else echo "not ok $n - $what (exit $?: $(head -c 200 "$tmp/err"))"; failed=$((failed + 1)); fi
}

P=$tmp/photo.ppm S=$tmp/style.ppm O=$tmp/out.png
ok_run "--help exits 0" --help
n=$((n + 1)); if grep -q 'neural-style stylize IN OUT' "$tmp/out"; then echo "ok $n - --help prints usage on stdout"; else echo "not ok $n - --help prints usage on stdout"; failed=$((failed + 1)); fi
ok_run "--version exits 0" --version
n=$((n + 1)); if grep -Eq '^neural-style [0-9]+\.[0-9]+\.[0-9]+$' "$tmp/out"; then echo "ok $n - --version prints the version"; else echo "not ok $n - --version prints the version"; failed=$((failed + 1)); fi
n=$((n + 1)); if grep -q '^BLAS: ' "$tmp/out" && grep -Eq '^BLAS kernel: [A-Za-z0-9]+ \(' "$tmp/out"; then echo "ok $n - --version names the BLAS and its kernel"; else echo "not ok $n - --version names the BLAS and its kernel ($(tr '\n' '|' <"$tmp/out"))"; failed=$((failed + 1)); fi

expect 2 "unknown command 'bogus'"          "unknown command"        -- bogus
expect 2 "Unknown option --frob"            "unknown option"         -- stylize --frob "$P" "$O"
expect 2 "needs IN and OUT"                 "missing OUT"            -- stylize "$P"
expect 2 "needs --style NAME or --style-image" "no style given"      -- stylize "$P" "$O"
expect 1 "input image '.*nope.png' does not exist" "missing input file" -- stylize "$tmp/nope.png" "$O" --style-image "$S"
expect 1 "cannot read input image"          "unreadable input image" -- stylize "$tmp/junk.png" "$O" --style-image "$S"
expect 1 "style image '.*nope.png' does not exist" "missing style file" -- stylize "$P" "$O" --style-image "$tmp/nope.png"
expect 1 "junk.png"                         "unreadable style image" -- stylize "$P" "$O" --style-image "$tmp/junk.png"
expect 2 "alpha must be between 0 and 1e\+06" "negative alpha"       -- stylize "$P" "$O" --style-image "$S" --alpha -1
expect 2 "beta must be between 0 and 1e\+06" "negative beta"         -- stylize "$P" "$O" --style-image "$S" --beta -0.5
# the plug-in's and the engine's range (ns_stylize.h): above it the losses overflow
expect 2 "alpha must be between 0 and 1e\+06 \(got 1e100\)" "alpha 1e100, above the shared range" -- stylize "$P" "$O" --style-image "$S" --alpha 1e100
expect 2 "must be between 0 and 1e\+06"     "alpha = beta = 1e300, above the shared range" -- stylize "$P" "$O" --style vangogh-harvest --alpha 1e300 --beta 1e300 --refine 5
expect 2 "seed must be a whole number between 0 and 2147483647" "seed above the plug-in's range" -- stylize "$P" "$O" --style-image "$S" --seed 4294967295
expect 2 "cannot both be 0"                 "alpha = beta = 0"       -- stylize "$P" "$O" --style-image "$S" --alpha 0 --beta 0
expect 2 "alpha needs a number"             "alpha not a number"     -- stylize "$P" "$O" --style-image "$S" --alpha abc
expect 2 "size must be between 16 and 8192" "size too small"         -- stylize "$P" "$O" --style-image "$S" --size 8
expect 2 "size must be between 16 and 8192" "size too large"         -- stylize "$P" "$O" --style-image "$S" --size 9000
expect 2 "iterations must be between"       "negative iterations"    -- stylize "$P" "$O" --style-image "$S" --iterations -1
expect 2 "mix must be between 0 and 1"      "mix out of range"       -- stylize "$P" "$O" --style a --style2 b --mix 1.5
expect 2 "unknown --style-loss 'foo'"       "unknown style loss"     -- stylize "$P" "$O" --style-image "$S" --style-loss foo
expect 2 "must end in .png, .jpg or .jpeg"  "unknown output type"    -- stylize "$P" "$tmp/out.xyz" --style-image "$S"
expect 1 "no preset called 'nosuch'"        "unknown preset"         -- stylize "$P" "$O" --style nosuch
expect 1 "nope.nsw: cannot read"            "info: missing file"     -- info "$tmp/nope.nsw"
expect 1 "junk.png: not a Neural Style weight file" "info: not a weight file" -- info "$tmp/junk.png"
expect 1 "short.nsw"                        "info: truncated file"   -- info "$tmp/short.nsw"
# a header of 20000 x 20000 pixels (a 312-byte file): refused from the header,
# under a 1 GB address-space limit that decoding it (1.2 GB) would exceed
big=${NS_SOURCE_ROOT:-$(dirname "$0")/..}/tests/fuzz/image-corpus/bad-too-large.png
n=$((n + 1))
( ulimit -v 1000000; exec "$ns" stylize "$big" "$O" --style-image "$S" ) >"$tmp/out" 2>"$tmp/err" </dev/null
rc=$?
if [ "$rc" -eq 1 ] && grep -q "bad-too-large.png' is 20000 x 20000 pixels; at most" "$tmp/err"; then
  echo "ok $n - a 20000 x 20000 image is refused from its header, before decoding"
else echo "not ok $n - a 20000 x 20000 image is refused from its header (exit $rc: $(head -c 200 "$tmp/err"))"; failed=$((failed + 1)); fi
n=$((n + 1)); if [ ! -e "$O" ]; then echo "ok $n - no bad input wrote an output"; else echo "not ok $n - an output was written by a failing run"; failed=$((failed + 1)); fi

ok_run "stylize a small image" stylize "$P" "$O" --style-image "$S" --iterations 5 --seed 3
n=$((n + 1))
if [ -s "$O" ] && [ "$(head -c 8 "$O" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; then
  echo "ok $n - the result is a PNG"; else echo "not ok $n - the result is a PNG"; failed=$((failed + 1)); fi

# the shipped presets (weights/presets.nsw of the source tree)
W=${NS_SOURCE_ROOT:-$(dirname "$0")/..}/weights/presets.nsw
ok_run "--beta 1e-320 (a denormal) is a number" stylize "$P" "$tmp/denormal.png" --weights "$W" --style vangogh-harvest --beta 1e-320

# truncated inputs: an error naming the file, never a picture with a flat
# hole (gdk-pixbuf decodes both without complaint)
ok_run "write a JPEG" stylize "$P" "$tmp/full.jpg" --weights "$W" --style vangogh-harvest
ok_run "write a PNG" stylize "$P" "$tmp/full.png" --weights "$W" --style vangogh-harvest
head -c $(( $(stat -c %s "$tmp/full.jpg") - 20 )) "$tmp/full.jpg" > "$tmp/cut.jpg"
head -c $(( $(stat -c %s "$tmp/full.png") - 100 )) "$tmp/full.png" > "$tmp/cut.png"
expect 1 "cut.jpg' is truncated or corrupt" "truncated JPEG input" -- stylize "$tmp/cut.jpg" "$O" --weights "$W" --style vangogh-harvest
expect 1 "cut.png' is truncated or corrupt" "truncated PNG input"  -- stylize "$tmp/cut.png" "$O" --weights "$W" --style vangogh-harvest
expect 1 "cut.jpg' is truncated or corrupt" "truncated JPEG style image" -- stylize "$P" "$O" --style-image "$tmp/cut.jpg"

# saving: a temporary file in the same folder, renamed into place
no_temp_left() { [ -z "$(find "$tmp/save" -name 'old.png.*' -print -quit)" ]; }
mkdir -p "$tmp/save"
Q=$tmp/save/old.png
# disk full (a file size limit of 0): the old file stays, nothing is left over
echo "the old file" > "$Q"
n=$((n + 1))
( ulimit -f 0; trap '' XFSZ; exec "$ns" stylize "$P" "$Q" --weights "$W" --style vangogh-harvest ) 2>&1 </dev/null | cat > "$tmp/err"
rc=${PIPESTATUS[0]}
if [ "$rc" -eq 1 ] && grep -q "old.png' was not changed" "$tmp/err" && [ "$(cat "$Q")" = "the old file" ] && no_temp_left; then
  echo "ok $n - a failed save (disk full) keeps the old file"
else echo "not ok $n - a failed save (disk full) keeps the old file (exit $rc: $(head -c 200 "$tmp/err"); now $(head -c 20 "$Q" | tr -dc '[:print:]'))"; failed=$((failed + 1)); fi
# SIGINT or SIGTERM while the file is being written (raised inside fsync)
for sig in INT TERM; do
  n=$((n + 1))
  NS_TEST_SIGNAL_IN_FSYNC=$sig LD_PRELOAD=$shim "$ns" stylize "$P" "$Q" --weights "$W" --style vangogh-harvest >"$tmp/out" 2>"$tmp/err" </dev/null
  rc=$?
  if [ "$rc" -eq 1 ] && grep -q "cancelled; '.*old.png' was not changed" "$tmp/err" && [ "$(cat "$Q")" = "the old file" ] && no_temp_left; then
    echo "ok $n - SIG$sig during the save keeps the old file"
  else echo "not ok $n - SIG$sig during the save keeps the old file (exit $rc: $(head -c 200 "$tmp/err"); now $(head -c 20 "$Q" | tr -dc '[:print:]'))"; failed=$((failed + 1)); fi
done
# two runs writing the same file at once: writer A is held (by the shim)
# right after it opened its file, B writes its whole, longer file, then A
# goes on; one complete file must remain, either one
{ printf 'P6\n64 48\n255\n'; head -c 9216 /dev/urandom; } > "$tmp/noise-a.ppm"
{ printf 'P6\n320 240\n255\n'; head -c 230400 /dev/urandom; } > "$tmp/noise-b.ppm"
ok_run "reference A" stylize "$tmp/noise-a.ppm" "$tmp/ref-a.png" --weights "$W" --style vangogh-harvest
ok_run "reference B" stylize "$tmp/noise-b.ppm" "$tmp/ref-b.png" --weights "$W" --style hokusai-great-wave
n=$((n + 1))
rm -f "$Q" "$Q.opened" "$Q.go"
NS_TEST_PAUSE_OPEN=$Q LD_PRELOAD=$shim "$ns" stylize "$tmp/noise-a.ppm" "$Q" --weights "$W" --style vangogh-harvest 2>"$tmp/err-a" </dev/null & a=$!
i=0; while [ $i -lt 3000 ] && [ ! -e "$Q.opened" ]; do sleep 0.02; i=$((i + 1)); done
"$ns" stylize "$tmp/noise-b.ppm" "$Q" --weights "$W" --style hokusai-great-wave 2>"$tmp/err-b" </dev/null; rb=$?
touch "$Q.go"
wait $a; ra=$?
rm -f "$Q.opened" "$Q.go"
if [ $ra -eq 0 ] && [ $rb -eq 0 ] && { cmp -s "$Q" "$tmp/ref-a.png" || cmp -s "$Q" "$tmp/ref-b.png"; } && no_temp_left; then
  echo "ok $n - two concurrent writers leave one complete file"
else echo "not ok $n - two concurrent writers leave one complete file (exit $ra/$rb, $(stat -c %s "$Q") bytes; A $(stat -c %s "$tmp/ref-a.png"), B $(stat -c %s "$tmp/ref-b.png"))"; failed=$((failed + 1)); fi

# weights holding a NaN or an infinity (checksum recomputed): refused everywhere
C=${NS_SOURCE_ROOT:-$(dirname "$0")/..}/tests/fuzz/corpus
expect 1 "bad-nan.nsw: tensor .* holds NaN" "info: a weight file with a NaN" -- info "$C/bad-nan.nsw"
expect 1 "bad-inf.nsw: tensor .* holds an infinity" "stylize: a weight file with an infinity" -- stylize "$P" "$O" --weights "$C/bad-inf.nsw" --style mosaic

# train: every argument checked before the first step, bad photos skipped
mkdir -p "$tmp/photos" "$tmp/mixed"
cp "$tmp/full.jpg" "$tmp/photos/a.jpg"; cp "$tmp/full.png" "$tmp/photos/b.png"
cp "$tmp/photos/"* "$tmp/mixed/"; cp "$tmp/cut.jpg" "$tmp/mixed/c.jpg"; cp "$tmp/junk.png" "$tmp/mixed/d.png"
TA=(--steps 2 --batch 1 --crop 16 --photo-size 16 --style-size 16 --channels 2 --res-blocks 0)
expect 2 "the style name \"x\" is given twice" "train: a style name given twice" -- train --photos "$tmp/photos" --style "$S" --style "$S" --name x --name x -o "$tmp/t.nsw" "${TA[@]}"
expect 1 "cannot write '.*nodir/t.nsw'" "train: a missing output folder" -- train --photos "$tmp/photos" --style "$S" -o "$tmp/nodir/t.nsw" "${TA[@]}"
expect 1 "cannot write '.*nodir/ck.nsw'" "train: a missing checkpoint folder" -- train --photos "$tmp/photos" --style "$S" -o "$tmp/t.nsw" --checkpoint "$tmp/nodir/ck.nsw" "${TA[@]}"
n=$((n + 1))
"$ns" train --photos "$tmp/photos" --style "$S" --add-style "$C/bad-nan.nsw" -o "$tmp/t.nsw" "${TA[@]}" >"$tmp/out" 2>"$tmp/err" </dev/null
rc=$?
if [ $rc -eq 1 ] && grep -q "bad-nan.nsw: tensor .* holds NaN" "$tmp/err" && ! grep -q "^step " "$tmp/err"; then
  echo "ok $n - train --add-style: a weight file with a NaN is refused before the first step"
else echo "not ok $n - train --add-style: a weight file with a NaN (exit $rc: $(head -c 300 "$tmp/err"))"; failed=$((failed + 1)); fi
n=$((n + 1))
[ ! -e "$tmp/t.nsw" ] && echo "ok $n - no refused train wrote a file" || { echo "not ok $n - a refused train wrote a file"; failed=$((failed + 1)); }
n=$((n + 1))
"$ns" train --photos "$tmp/mixed" --style "$S" -o "$tmp/t.nsw" "${TA[@]}" >"$tmp/out" 2>"$tmp/err" </dev/null
rc=$?
if [ $rc -eq 0 ] && [ -s "$tmp/t.nsw" ] && grep -q "warning: skipping photo: '.*c.jpg' is truncated" "$tmp/err" &&
   grep -q "warning: skipping photo: '.*d.png'" "$tmp/err" && grep -q "training on 2 photos" "$tmp/err"; then
  echo "ok $n - train skips an unreadable and a truncated photo with a warning"
else echo "not ok $n - train skips unreadable photos (exit $rc: $(head -c 300 "$tmp/err"))"; failed=$((failed + 1)); fi

echo "1..$n"
exit $((failed > 0))
