#!/bin/bash
# The neural-style command's answers to good and bad input: exit code
# (0 ok, 1 runtime error, 2 usage error) and exactly one line on stderr.
# TAP output.  usage: test-cli.sh PATH/TO/neural-style
set -u
ns=${1:?path to neural-style}
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
expect 2 "alpha must be >= 0"               "negative alpha"         -- stylize "$P" "$O" --style-image "$S" --alpha -1
expect 2 "beta must be >= 0"                "negative beta"          -- stylize "$P" "$O" --style-image "$S" --beta -0.5
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
n=$((n + 1)); if [ ! -e "$O" ]; then echo "ok $n - no bad input wrote an output"; else echo "not ok $n - an output was written by a failing run"; failed=$((failed + 1)); fi

ok_run "stylize a small image" stylize "$P" "$O" --style-image "$S" --iterations 5 --seed 3
n=$((n + 1))
if [ -s "$O" ] && [ "$(head -c 8 "$O" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; then
  echo "ok $n - the result is a PNG"; else echo "not ok $n - the result is a PNG"; failed=$((failed + 1)); fi

# the shipped presets (weights/presets.nsw of the source tree)
W=${NS_SOURCE_ROOT:-$(dirname "$0")/..}/weights/presets.nsw
expect 1 "no preset called 'nosuch' in .*presets.nsw" "unknown preset in --weights" -- stylize "$P" "$O" --weights "$W" --style nosuch
expect 1 "junk.png"                         "--weights is not a weight file" -- stylize "$P" "$O" --weights "$tmp/junk.png" --style vangogh-harvest
ok_run "a preset, blended with a second, refined" stylize "$P" "$tmp/preset.png" --weights "$W" --style vangogh-harvest --style2 hokusai-great-wave --mix 0.3 --refine 3
n=$((n + 1))
if [ -s "$tmp/preset.png" ] && "$ns" info "$W" | grep -q '^  [0-9]* hiroshige-inokashira-snow  source: Utagawa Hiroshige'; then
  echo "ok $n - info lists the presets with their sources"; else echo "not ok $n - info lists the presets with their sources"; failed=$((failed + 1)); fi

echo "1..$n"
exit $((failed > 0))
