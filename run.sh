#!/bin/bash
# Installs what is missing, builds, installs the plug-in into GIMP (2.10 on
# Debian 12, 3 on Debian 13), then runs the main job: GIMP, in batch mode,
# stylizes its own splash photo into out/demo.png.
set -euo pipefail
top=$(cd "$(dirname "$0")" && pwd)
cd "$top"
tools/setup.sh

# The default preset (NS_DEFAULT_PRESET, what the dialog starts from); any
# other preset name or an image file works too.
style=${NS_DEMO_STYLE:-vangogh-harvest}
mkdir -p out
if command -v gimp-console-2.10 >/dev/null; then
  gimp=gimp-console-2.10
  photo=/usr/share/gimp/2.0/images/gimp-splash.png
  job="
(let* ((image (car (gimp-file-load RUN-NONINTERACTIVE \"$photo\" \"$photo\")))
       (drawable (car (gimp-image-get-active-drawable image))))
  (plug-in-neural-style RUN-NONINTERACTIVE image drawable \"$style\" 1.0 1.0 0 0 0 0 \"\" 0.0)
  (gimp-file-save RUN-NONINTERACTIVE image (car (gimp-image-flatten image)) \"$top/out/demo.png\" \"$top/out/demo.png\")
  (gimp-image-delete image))"
else
  # GIMP 3: files as paths, the selected drawables as a vector, no drawable
  # to save
  # (Python is a batch interpreter too, so GIMP 3 must be told which; and
  # after a failed command GIMP 3 skips the rest, gimp-quit included, and
  # waits: --quit ends it in any case)
  gimp="gimp-console-3.0 --batch-interpreter=plug-in-script-fu-eval --quit"
  photo=/usr/share/gimp/3.0/images/gimp-splash.png
  job="
(let* ((image (car (gimp-file-load RUN-NONINTERACTIVE \"$photo\")))
       (drawables (car (gimp-image-get-selected-drawables image))))
  (plug-in-neural-style RUN-NONINTERACTIVE image drawables \"$style\" 1.0 1.0 0 FALSE 0 FALSE \"\" 0.0)
  (gimp-image-flatten image)
  (gimp-file-save RUN-NONINTERACTIVE image \"$top/out/demo.png\" -1)
  (gimp-image-delete image))"
fi
echo "run: stylizing $photo with '$style' through $gimp (batch mode)"
start=$(date +%s.%N)
$gimp -i -d -f -b "$job" -b '(gimp-quit 0)'
[ -s out/demo.png ] || { echo "run: out/demo.png was not written" >&2; exit 1; }
printf 'run: wrote out/demo.png in %.1f s\n' "$(echo "$(date +%s.%N) - $start" | bc)"
