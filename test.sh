#!/bin/bash
# The same set-up as run.sh, then every test suite; a second build under
# AddressSanitizer + UndefinedBehaviorSanitizer runs the engine and format
# suites; on Debian 12, tests/debian13.sh then does the same for GIMP 3 in a
# Debian 13 root.  Exits non-zero on any failure.
set -euo pipefail
top=$(cd "$(dirname "$0")" && pwd)
cd "$top"
start=$(date +%s)
tools/setup.sh

status=0
# meson's per-test timeouts only catch hangs: tripled, so that a machine
# busy with other work (or ASan's slowdown) does not fail a test
slack=(--timeout-multiplier 3)
echo "== meson test (release build)"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
meson test -C build --print-errorlogs --num-processes 2 "${slack[@]}" | tee -a "$log" || status=1

echo "== meson test (AddressSanitizer + UBSan: engine, format, fuzz)"
if [ -f build-asan/build.ninja ]; then
  meson setup --reconfigure build-asan >/dev/null
else
  meson setup build-asan -Dbuildtype=debugoptimized -Db_sanitize=address,undefined \
    -Db_lundef=false -Dplugin=disabled -Dplugin3=disabled -Dcli=disabled >/dev/null
fi
ninja -C build-asan
ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  meson test -C build-asan --print-errorlogs --num-processes 2 "${slack[@]}" \
    --suite engine --suite format --suite fuzz | tee -a "$log" || status=1

# GIMP 3: Debian 12 has only GIMP 2.10, so the plug-in is built, installed
# and tested in a Debian 13 root by the project's own run.sh (on Debian 13
# the gimp suite above is already the GIMP 3 one).
. /etc/os-release
if [ "${VERSION_ID%%.*}" = 12 ]; then
  echo "== GIMP 3 in a Debian 13 root (tests/debian13.sh)"
  if ! tests/debian13.sh | tee -a "$log"; then
    status=1
    # a failure before its own count still counts
    grep -q '^debian13: .* failed$' "$log" || echo "debian13: 0 passed, 1 failed" | tee -a "$log"
  fi
fi

# The plain closing line CI reads: every test program of both runs, and
# every check of the Debian 13 part.
passed=$(awk '/^Ok:/ {n += $2} /^debian13: .* passed,/ {n += $2} END {print n + 0}' "$log")
failed=$(awk '/^(Fail|Timeout|Unexpected Pass):/ {n += $NF} /^debian13: .* failed$/ {n += $4} END {print n + 0}' "$log")
[ "$failed" -eq 0 ] || status=1
echo "test.sh: $([ $status -eq 0 ] && echo PASSED || echo FAILED) in $(( $(date +%s) - start )) s"
echo "$passed passed, $failed failed"
exit $status
