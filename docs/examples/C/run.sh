#!/usr/bin/env bash
# Builds and runs the C examples (CI runs this): a control loop on libfastlra.so with a background
# learner, and firmware on an exported header. Usage: docs/examples/C/run.sh [fastlra]
# (needs artifacts/native/libfastlra.so: tests/native/run.sh builds it).
set -euo pipefail
cd "$(dirname "$0")/../../.."
fastlra=${1:-artifacts/aot/fastlra}
out=artifacts/examples-c
lib=artifacts/native
rm -rf "$out" && mkdir -p "$out"
gcc -O2 -std=c99 -Wall -Wextra -Werror docs/examples/C/control_loop.c -I src/FastLra.Native -L "$lib" -lfastlra \
  -Wl,-rpath,"$PWD/$lib" -lm -o "$out/control_loop"
"$out/control_loop" docs/online/pendulum.safetensors docs/data/pendulum.csv
"$fastlra" export --model docs/online/pendulum.safetensors --format c --name pendulum --out "$out/pendulum.h"
gcc -O2 -std=c99 -Wall -Wextra -Werror -I "$out" docs/examples/C/firmware.c -lm -o "$out/firmware"
"$out/firmware" < docs/data/pendulum.csv
