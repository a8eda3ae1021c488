#!/usr/bin/env bash
# Builds libfastlra.so and the C test program, trains two small models (a synthetic task's, and
# one on the sunspots series, which carries a normalisation), and checks the C ABI's outputs
# against `fastlra infer` (the managed RnnState). Usage: tests/native/run.sh [fastlra]
set -euo pipefail
cd "$(dirname "$0")/../.."
fastlra=${1:-artifacts/aot/fastlra}
out=artifacts/native
rm -rf "$out"
dotnet publish src/FastLra.Native -c Release -r linux-x64 -o "$out" --nologo -v quiet
gcc -O2 -std=c11 -Wall -Wextra -Werror tests/native/fastlra_test.c -I src/FastLra.Native -L "$out" -lfastlra \
  -Wl,-rpath,'$ORIGIN' -lm -o "$out/fastlra_test"
"$fastlra" train --task temporal-order --length 20 --hidden 32 --max-iter 100 --valid-size 200 --quiet \
  --save "$out/model.safetensors"
"$out/fastlra_test" "$out/model.safetensors" write-inputs "$out/inputs.bin" 64
"$fastlra" infer --model "$out/model.safetensors" --inputs "$out/inputs.bin" --outputs "$out/expected.bin"
"$out/fastlra_test" "$out/model.safetensors" check "$out/inputs.bin" "$out/expected.bin"
"$fastlra" train --data docs/data/sunspots.csv --input-columns SUNACTIVITY --target-columns SUNACTIVITY --window 20 \
  --washout 10 --hidden 16 --max-iter 100 --quiet --save "$out/sunspots.safetensors"
"$out/fastlra_test" "$out/sunspots.safetensors" write-inputs "$out/sun-inputs.bin" 64
"$fastlra" infer --model "$out/sunspots.safetensors" --inputs "$out/sun-inputs.bin" --outputs "$out/sun-expected.bin"
"$out/fastlra_test" "$out/sunspots.safetensors" check "$out/sun-inputs.bin" "$out/sun-expected.bin"
