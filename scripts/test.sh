#!/usr/bin/env bash
# `npm test`: every check CI runs, in order; ends with the plain "N passed, N failed" line CI reads.
# Needs bin/setup to have run (packages, addon, models). Starts its own throwaway PostgreSQL on loopback
# unless TEST_DATABASE_URL is given.
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0 failed=0 skipped=0
step() { printf '\n== %s\n' "$1"; }
record() { # name status
  if [ "$2" -eq 0 ]; then passed=$((passed + 1)); echo "ok: $1"; else failed=$((failed + 1)); echo "FAILED: $1"; fi
}
jobs=$(nproc)
cluster_url="" sudo_keeper=""
on_exit() {
  if [ -n "$sudo_keeper" ]; then kill "$sudo_keeper" 2>/dev/null; fi
  if [ -n "$cluster_url" ]; then bash scripts/pg-test-cluster.sh stop "$cluster_url" >/dev/null 2>&1; fi
}
trap on_exit EXIT

# The disk-full tests (test/disk-full.test.ts, test/pg-disk-full.test.ts) mount a small tmpfs, which needs root:
# as a user with sudo they mount it through `sudo -n`, which cannot ask for a password. A sudo that wants one asks
# for it here, once, on the terminal, and the run keeps that sudo ticket fresh until it ends (sudo forgets it
# after 15 idle minutes, and the suite takes longer).
if [ "$(id -u)" -ne 0 ]; then
  step "sudo for the disk-full tests' tmpfs mounts"
  if ! command -v sudo > /dev/null; then
    echo "no sudo: test/disk-full.test.ts and test/pg-disk-full.test.ts will fail (run as root, or as a user with sudo)"
  elif sudo -n true 2> /dev/null; then
    echo "passwordless sudo"
  elif [ -t 0 ] && sudo -v -p "[sudo] password for %u (the disk-full tests mount a tmpfs): "; then
    ( trap 'kill $nap 2>/dev/null; exit 0' TERM
      while sleep 60 & nap=$!; wait $nap && kill -0 $$ 2> /dev/null; do sudo -n -v 2> /dev/null || exit 0; done ) &
    sudo_keeper=$!
    echo "sudo ticket kept fresh while the tests run"
  else
    echo "sudo asks for a password and there is no terminal to ask on: test/disk-full.test.ts and test/pg-disk-full.test.ts will fail"
    echo "(run npm test from a terminal, or give this user passwordless sudo)"
  fi
fi

step "type check"
npx tsc --noEmit -p .; record "type check" $?

step "lint (eslint, clang-format)"
npx eslint . && node scripts/check-format.mjs; record "lint" $?

step "native unit tests"
cmake -S . -B build/tests -G Ninja -DFS_BUILD_TESTS=ON -DCMAKE_BUILD_TYPE=Release > build/tests.log 2>&1 &&
  cmake --build build/tests -j "$jobs" >> build/tests.log 2>&1 || { tail -40 build/tests.log; }
if [ -x build/tests/native_tests ]; then
  out=$(build/tests/native_tests 2>&1); echo "$out" | grep -v '^ok ' 
  n_pass=$(echo "$out" | sed -n 's/^native: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p'); n_fail=$(echo "$out" | sed -n 's/^native: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
  passed=$((passed + ${n_pass:-0})); failed=$((failed + ${n_fail:-1}))
else
  record "native unit tests build" 1
fi

step "native unit tests under AddressSanitizer + UndefinedBehaviorSanitizer"
cmake -S . -B build/asan -G Ninja -DFS_BUILD_TESTS=ON -DFS_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo > build/asan.log 2>&1 &&
  cmake --build build/asan -j "$jobs" >> build/asan.log 2>&1 || { tail -40 build/asan.log; }
if [ -x build/asan/native_tests ]; then
  # OpenCV's and TBB's own allocations at exit are not ours to fix; leaks in our code are caught by
  # the JS-level soak tests. ASan still aborts on any memory error, UBSan on any undefined behaviour.
  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    build/asan/native_tests > build/asan-run.log 2>&1
  status=$?; grep -v '^ok ' build/asan-run.log | tail -30; record "native unit tests (ASan+UBSan)" $status
else
  record "native unit tests (ASan+UBSan) build" 1
fi

step "fuzz target (libFuzzer, clang) builds and runs"
# The million-run record is in benchmarks/RESULTS.md; this keeps the target compiling under clang and
# replays a short fresh campaign so a crash in decode + detect is caught on every run.
{ CC=clang-14 CXX=clang++-14 cmake -S . -B build/fuzz -G Ninja -DFS_BUILD_FUZZERS=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo &&
  cmake --build build/fuzz -j "$jobs" --target fuzz_decode_detect; } > build/fuzz.log 2>&1 || tail -40 build/fuzz.log
if [ -x build/fuzz/fuzz_decode_detect ]; then
  # Seeds: a few real JPEG and PNG photos from ../shared/facedata when it is there (never copied into git).
  mkdir -p build/fuzz-corpus build/fuzz-seeds
  if [ -d ../shared/facedata ]; then
    for ext in png jpg; do find ../shared/facedata -type f -name "*.$ext" -size -60k | sort | head -n 4; done |
      while read -r f; do cp "$f" build/fuzz-seeds/; done
  fi
  ASAN_OPTIONS=detect_leaks=0 build/fuzz/fuzz_decode_detect -runs=5000 -max_len=65536 -rss_limit_mb=4096 \
    -close_fd_mask=2 build/fuzz-corpus build/fuzz-seeds > build/fuzz-run.log 2>&1
  status=$?; grep -E '^(Done|==[0-9]+==ERROR)' build/fuzz-run.log | tail -3; record "fuzz decode + detect (5000 runs)" $status
else
  record "fuzz target build" 1
fi

step "addon also builds with node-gyp (binding.gyp)"
bash scripts/check-gyp-build.sh > build/gyp.log 2>&1; status=$?; tail -5 build/gyp.log; record "node-gyp build" $status

step "PostgreSQL for the store tests"
if [ -z "${TEST_DATABASE_URL:-}" ]; then
  TEST_DATABASE_URL=$(bash scripts/pg-test-cluster.sh start | tail -n 1) || { echo "could not start PostgreSQL"; }
  cluster_url=$TEST_DATABASE_URL # stopped by on_exit
fi
export TEST_DATABASE_URL
echo "TEST_DATABASE_URL=$TEST_DATABASE_URL"

# Tests delete what they write: every faceserver-* entry in the temp folder after mocha must have been there
# before it. Listed after the PostgreSQL cluster above started, checked before the EXIT trap removes it.
temp_entries() {
  { find /tmp -maxdepth 1 -name 'faceserver-*'; [ "${TMPDIR:-/tmp}" = /tmp ] || find "$TMPDIR" -maxdepth 1 -name 'faceserver-*'; } 2>/dev/null | sort
}
temp_before=$(temp_entries)

step "mocha"
npx mocha --reporter spec 'test/**/*.test.ts' 2>&1 | tee build/mocha.log
m_pass=$(sed -n 's/^ *\([0-9]*\) passing.*/\1/p' build/mocha.log | tail -1)
m_fail=$(sed -n 's/^ *\([0-9]*\) failing.*/\1/p' build/mocha.log | tail -1)
m_skip=$(sed -n 's/^ *\([0-9]*\) pending.*/\1/p' build/mocha.log | tail -1)
[ -n "$m_pass" ] || m_fail=${m_fail:-1}
passed=$((passed + ${m_pass:-0})); failed=$((failed + ${m_fail:-0})); skipped=$((skipped + ${m_skip:-0}))

step "tests leave nothing in the temp folder"
left=$(comm -13 <(echo "$temp_before") <(temp_entries))
if [ -n "$left" ]; then
  echo "the mocha run left these behind (or another faceserver test run on this machine made them meanwhile):"
  echo "$left" | while read -r entry; do echo "  $(du -sh "$entry" 2>/dev/null | cut -f1)	$entry"; done
  record "tests leave nothing in the temp folder" 1
else
  record "tests leave nothing in the temp folder" 0
fi

echo
if [ "$skipped" -gt 0 ]; then echo "$passed passed, $failed failed, $skipped skipped"; else echo "$passed passed, $failed failed"; fi
[ "$failed" -eq 0 ]
