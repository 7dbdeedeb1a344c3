#!/bin/bash
# docs/presets-crops.jpg: 100 % crops of GIMP's splash photo stylized with a
# preset, at 1 MP (top row) and 12 MP (bottom row): photo | before | after.
#
# usage: bench/presets-crops.sh BEFORE.nsw AFTER.nsw OUT.jpg [STYLE]
#   STYLE defaults to vangogh-harvest; needs ImageMagick (convert, montage).
#   Work files go to ${WORK:-/tmp/presets-crops}; NS_BEFORE runs BEFORE.nsw
#   when it needs the binary it was trained with (default: NS).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
before=$(realpath "${1:?usage: $0 BEFORE.nsw AFTER.nsw OUT.jpg [STYLE]}")
after=$(realpath "${2:?AFTER.nsw}")
out=${3:?OUT.jpg}
style=${4:-vangogh-harvest}
ns=${NS:-$here/build/cli/neural-style}
ns_before=${NS_BEFORE:-$ns}
work=${WORK:-/tmp/presets-crops}
splash=/usr/share/gimp/2.0/images/gimp-splash.png
mkdir -p "$work"
# the same 400x300 window of the photo's moss and mushrooms at both sizes
declare -A size=([1mp]=1333x750 [12mp]=4608x2592) crop=([1mp]=400x300+500+250 [12mp]=400x300+1800+900)
tiles=()
for s in 1mp 12mp; do
  convert "$splash" -resize "${size[$s]}!" "$work/photo-$s.png"
  for which in before after; do
    w=$before run=$ns_before; [ $which = after ] && w=$after run=$ns
    "$run" stylize "$work/photo-$s.png" "$work/$which-$s.png" --weights "$w" --style "$style"
  done
  for which in photo before after; do
    convert "$work/$which-$s.png" -crop "${crop[$s]}" +repage "$work/crop-$which-$s.png"
    tiles+=("$work/crop-$which-$s.png")
  done
done
montage "${tiles[@]}" -tile 3x2 -geometry +2+2 -quality 90 "$out"
echo "wrote $out"
