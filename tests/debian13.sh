#!/bin/bash
# The GIMP 3 part of ./test.sh on a Debian 12 machine: a Debian 13 (trixie)
# root under .debian13/ (kept between runs, built again when missing), a
# clean copy of the tree in it (git's tracked files only), the project's own
# ./run.sh run there as a Debian 13 user would, then the GIMP 3 suite
# (tests/gimp3/test-gimp3.py) against the plug-in run.sh installed, with the
# real gimp-console-3.0 and, under Xvfb, the real GIMP 3 dialog.
#
# Prints the suite's TAP lines and a closing "debian13: N passed, M failed";
# exits non-zero on any failure.  Needs root (debootstrap, chroot, mount).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dir=$top/.debian13
root=$dir/root
src=/root/gimp-neural-style          # the copy, as seen inside the root
mirror=${NS_DEBIAN_MIRROR:-http://deb.debian.org/debian}
start=$(date +%s)

# Every mount point under the root, deepest first.
mounts_under_root () {
  awk -v r="$root/" 'index($2 "/", r) == 1 { print $2 }' /proc/self/mounts | sort -r
}

unmount_all () {
  local m
  for m in $(mounts_under_root); do
    umount "$m" 2>/dev/null || umount -l "$m" || true
  done
}

# Never delete a root with something still mounted in it (its /proc, or
# worse a bind of the machine's /dev), and never cross into another file
# system.
remove_root () {
  unmount_all
  if [ -n "$(mounts_under_root)" ]; then
    echo "debian13: cannot unmount $(mounts_under_root | tr '\n' ' '); not deleting $root" >&2
    exit 1
  fi
  rm -rf --one-file-system "$root"
}

trap unmount_all EXIT
trap 'unmount_all; exit 130' INT TERM

if [ "$(id -u)" -ne 0 ]; then
  echo "debian13: needs root (debootstrap, chroot); skipped" >&2
  exit 1
fi
if ! command -v debootstrap >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq debootstrap >/dev/null
fi

# "ready" is written last, so a root whose making was interrupted is
# made again from scratch.
if [ ! -f "$dir/ready" ]; then
  echo "debian13: making a Debian 13 root in $root (debootstrap, about a minute)"
  remove_root
  mkdir -p "$dir"
  nice -n 10 debootstrap --variant=minbase trixie "$root" "$mirror" >"$dir/debootstrap.log" 2>&1 \
    || { echo "debian13: debootstrap failed, see $dir/debootstrap.log" >&2; exit 1; }
  touch "$dir/ready"
fi

unmount_all
mount -t proc proc "$root/proc"
mount -t tmpfs -o size=512m,mode=1777 tmpfs "$root/dev/shm"   # GIMP's POSIX shm
cp /etc/resolv.conf "$root/etc/resolv.conf"

# A clean copy of the tree: the tracked files as they are in the work tree.
rm -rf --one-file-system "$root$src"
mkdir -p "$root$src"
(cd "$top" && git ls-files -z | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
   | tar --null -T - -cf -) | tar -C "$root$src" -xf -

in_root () {
  chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    /bin/bash -c "cd $src && $1"
}

echo "debian13: ./run.sh in the Debian 13 root"
run_start=$(date +%s)
if ! in_root 'nice -n 10 ./run.sh' >"$dir/run.log" 2>&1; then
  tail -n 30 "$dir/run.log" >&2
  echo "debian13: ./run.sh failed in the Debian 13 root (log: $dir/run.log)" >&2
  echo "debian13: 0 passed, 1 failed"
  exit 1
fi
tail -n 2 "$dir/run.log"
echo "debian13: run.sh took $(( $(date +%s) - run_start )) s"

echo "debian13: the GIMP 3 suite"
out=$root$src/build/tests/gimp3-out
suite_rc=0
# (the root has its own /tmp, so xvfb-run cannot see the machine's X lock
# files; displays from :300 up stay clear of the machine's own)
in_root "NS_SOURCE_ROOT=$src NS_BUILD_ROOT=$src/build nice -n 10 \
  xvfb-run -n 300 -a -s '-screen 0 1280x960x24' python3 tests/gimp3/test-gimp3.py" \
  | tee "$dir/suite.log" || suite_rc=$?

# the dialog's screenshot, kept where the host can look at it
mkdir -p "$top/out"
[ -f "$out/dialog.png" ] && cp "$out/dialog.png" "$top/out/gimp3-dialog.png"

passed=$(grep -c '^ok ' "$dir/suite.log" || true)
failed=$(grep -c '^not ok ' "$dir/suite.log" || true)
[ "$suite_rc" -eq 0 ] || [ "$failed" -gt 0 ] || failed=1
echo "debian13: the Debian 13 part took $(( $(date +%s) - start )) s"
echo "debian13: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
