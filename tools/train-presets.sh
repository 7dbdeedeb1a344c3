#!/bin/bash
# Trains the preset network shipped in weights/presets.nsw: every painting
# of ../shared/data/styles (none is a near-duplicate of another: van Gogh,
# Renoir, Cassatt, Bruegel, Arcimboldo, Durer, Kandinsky, Hokusai,
# Hiroshige, an abstract wallpaper) in one generator (one gamma/beta row per
# style, plus the identity row used for the strength control).  About two
# hours on a 2-core machine with one BLAS thread; stop it any time (Ctrl-C
# writes the checkpoint) and rerun the same command to continue.
#
# usage: tools/train-presets.sh OUT.nsw [extra neural-style train options]
#   DATA=folder with photos/ and styles/ (default ../shared/data, built
#   from Debian packages as its SOURCES.md says); NS=the neural-style binary.
#   The checkpoint is OUT.nsw.ckpt, the training photos (all but the
#   evaluation pairs' photos) are linked from OUT.nsw.photos/; the
#   ablations are the same command with
#   e.g. --lambda-adv 0, --lambda-stroke 0 or --noise 0 (a later option
#   overrides the one above).  The variation noise (--noise) gives the
#   network a texture source of its own, so it need not echo edges into flat
#   areas; the doubled content weight buys back the structure the noise
#   costs (docs/generator.md, "Variation noise").  The colour layout loss
#   (--lambda-chroma) keeps the palette-mapped photo's colours where they
#   are above the brush scale, so the patch losses cannot paint the
#   painting's other colours as blotches into flat areas; the doubled style
#   weight buys back the stroke colour it costs (docs/generator.md, "The
#   colour layout loss").
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
data=${DATA:-$here/../shared/data}
ns=${NS:-$here/build/cli/neural-style}
out=${1:?usage: $0 OUT.nsw [options]}
shift

gcompris='gcompris-qt-data 3.1-2 (Debian), usr/share/gcompris-qt/rcc'
styles=(
  vangogh-cafe-terrace        "Vincent van Gogh, Cafe Terrace at Night (1888); $gcompris/details.rcc"
  vangogh-harvest             "Vincent van Gogh, The Harvest (1888); $gcompris/details.rcc"
  vangogh-night-cafe          "Vincent van Gogh, The Night Cafe (1888); $gcompris/details.rcc"
  vangogh-painter-on-the-road "Vincent van Gogh, The Painter on the Road to Tarascon (1888); $gcompris/details.rcc"
  vangogh-langlois-bridge     "Vincent van Gogh, Langlois Bridge at Arles (1888); $gcompris/details.rcc"
  abstract-rhythm             "Rhythm, abstract wallpaper; ukui-wallpapers (Debian), usr/share/backgrounds/rhythm.jpg"
  kandinsky-composition-8     "Wassily Kandinsky, Composition VIII (1923); $gcompris/paintings.rcc"
  hokusai-great-wave          "Katsushika Hokusai, The Great Wave off Kanagawa (c. 1831); $gcompris/paintings.rcc"
  hokusai-ejiri-suruga        "Katsushika Hokusai, Ejiri in Suruga Province (c. 1832); $gcompris/paintings.rcc"
  hiroshige-inokashira-snow   "Utagawa Hiroshige, Snow at Inokashira (c. 1840s); $gcompris/paintings.rcc"
  hokusai-poppies             "Katsushika Hokusai, Poppies (c. 1833); $gcompris/paintings.rcc"
  vangogh-asylum-vestibule    "Vincent van Gogh, Vestibule of the Asylum (1889); $gcompris/details.rcc"
  renoir-moulin-de-la-galette "Pierre-Auguste Renoir, Bal du moulin de la Galette (1876); $gcompris/paintings.rcc"
  cassatt-summertime          "Mary Cassatt, Summertime (1894); $gcompris/paintings.rcc"
  bruegel-harvesters          "Pieter Bruegel the Elder, The Harvesters (1565); $gcompris/paintings.rcc"
  arcimboldo-spring           "Giuseppe Arcimboldo, Spring (1573); $gcompris/paintings.rcc"
  durer-lion                  "Albrecht Durer, Lion (1494); $gcompris/paintings.rcc"
)
# The photos of the evaluation pairs are held out, so that
# ../shared/eval/run-eval.sh scores photos the network has never seen: a
# folder of links to the others, beside the output.
photos=$out.photos
rm -rf "$photos" && mkdir -p "$photos"
held_out=$(awk '!/^#/ && NF { print $1 }' "$data/../eval/pairs.txt" 2>/dev/null || true)
for f in "$data"/photos/*; do
  grep -qxF "$(basename "$f")" <<<"$held_out" || ln -s "$(realpath "$f")" "$photos/"
done
args=()
for ((i = 0; i < ${#styles[@]}; i += 2)); do
  args+=(--style "$data/styles/${styles[i]}.png" --name "${styles[i]}" --source "${styles[i + 1]}")
done
exec "$ns" train --photos "$photos" "${args[@]}" -o "$out" \
  --checkpoint "$out.ckpt" --resume --steps 10000 --seed 1 --photo-size 384 \
  --lambda-stroke 20 --noise 0.1 --lambda-content 2 --lambda-chroma 2 --lambda-style 2 \
  --log-every 97 "$@"
