#!/bin/bash
# Shared set-up for run.sh and test.sh: install what is missing, configure an
# optimised portable release in build/, build, install the CLI, the weights,
# the plug-in and the Script-Fu script.  Safe to run again.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"

# Debian 12 ships GIMP 2.10, Debian 13 GIMP 3 (and no 2.10); NS_GIMP=2 or 3
# overrides the guess.
. /etc/os-release
gimp_major=${NS_GIMP:-$([ "${VERSION_ID%%.*}" -ge 13 ] 2>/dev/null && echo 3 || echo 2)}

common=(build-essential meson ninja-build pkg-config libglib2.0-dev
  libopenblas-dev libgdk-pixbuf-2.0-dev libgegl-dev gimp xvfb xdotool
  imagemagick python3-numpy python3-pil bc xauth)
if [ "$gimp_major" = 3 ]; then
  packages=("${common[@]}" libgimp-3.0-dev libgtk-3-dev x11-apps dbus-daemon)
else
  packages=("${common[@]}" libgimp2.0-dev libgtk2.0-dev
    clang libclang-rt-14-dev ukui-wallpapers)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${missing[@]}" >/dev/null
fi

# Where the plug-in and script go: the user's GIMP folder.
if [ "$gimp_major" = 3 ]; then
  gimpdir=${GIMP3_DIRECTORY:-$HOME/.config/GIMP/3.0}
  gimp_options=(-Dplugin=disabled -Dplugin3=enabled -Dgimp3dir="$gimpdir")
else
  gimpdir=${GIMP2_DIRECTORY:-$HOME/.config/GIMP/2.10}
  gimp_options=(-Dgimpdir="$gimpdir")
fi
prefix=/usr/local
[ "$(id -u)" -eq 0 ] || prefix=$HOME/.local

# GIMP complains in batch mode when its writable data folders are missing.
mkdir -p "$gimpdir"/{brushes,dynamics,gradients,palettes,patterns,plug-ins,scripts,tool-presets,templates}

if [ -f build/build.ninja ]; then
  meson setup --reconfigure build --prefix="$prefix" "${gimp_options[@]}" -Dbuildtype=release >/dev/null
else
  meson setup build --prefix="$prefix" "${gimp_options[@]}" -Dbuildtype=release >/dev/null
fi
ninja -C build
meson install -C build --quiet
echo "setup: installed neural-style to $prefix/bin and the plug-in to $gimpdir/plug-ins/gimp-neural-style"
