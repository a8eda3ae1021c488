#!/usr/bin/env bash
# Builds libfastlra.so and the C test program, trains small models (a synthetic task's, one on the
# sunspots series, which carries a normalisation, and a GRU and an LSTM of two layers), checks the
# C ABI's outputs and the exported C header's against `fastlra infer` (the managed RnnState), and
# drives the online learner through the C ABI against `fastlra replay`, among ticks that are not
# finite too (nonfinite_test.c). Usage: tests/native/run.sh [fastlra]
set -euo pipefail
cd "$(dirname "$0")/../.."
fastlra=${1:-artifacts/aot/fastlra}
out=artifacts/native
rm -rf "$out"
dotnet publish src/FastLra.Native -c Release -r linux-x64 -o "$out" --nologo -v quiet
for test in fastlra_test nonfinite_test; do
  gcc -O2 -std=c11 -Wall -Wextra -Werror "tests/native/$test.c" -I src/FastLra.Native -L "$out" -lfastlra \
    -Wl,-rpath,'$ORIGIN' -lm -o "$out/$test"
done
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
# The learner: the C program's ticks, replayed by `fastlra replay` with the same options, must
# leave the same weights bit for bit (compared through their .npz exports).
"$out/fastlra_test" "$out/sunspots.safetensors" learn "$out/ticks.csv" "$out/c-learner.safetensors"
"$fastlra" replay --data "$out/ticks.csv" --input-columns i0 --target-columns t0 --horizon 0 --model "$out/sunspots.safetensors" \
  --algo lra --k 3 --beta 1 --lr 0.05 --window 8 --update-every 2 --quiet --save "$out/m-learner.safetensors"
"$fastlra" export --model "$out/c-learner.safetensors" --format npz --out "$out/c-learner.npz"
"$fastlra" export --model "$out/m-learner.safetensors" --format npz --out "$out/m-learner.npz"
cmp "$out/c-learner.npz" "$out/m-learner.npz" && echo "C ABI learner: the same weights as fastlra replay"
# Numbers that are not finite: the C program's ticks, with NaN, +Inf and 3e38 at seeded random
# ticks in inputs and targets, replayed by `fastlra replay`: the same counters (rejected ticks and
# updates) and the same weights bit for bit.
"$out/nonfinite_test" "$out/sunspots.safetensors" "$out/bad-ticks.csv" "$out/c-bad.safetensors" > "$out/c-bad.txt"
"$fastlra" replay --data "$out/bad-ticks.csv" --input-columns i0 --target-columns t0 --horizon 0 --model "$out/sunspots.safetensors" \
  --algo bptt --lr 0.01 --clip 0 --window 8 --update-every 2 --quiet --json --save "$out/m-bad.safetensors" > "$out/m-bad.json"
counters=$(grep -o '"updates":.*"diverged":false' "$out/m-bad.json")
[ "$counters" = "$(cat "$out/c-bad.txt")" ] || { echo "C ABI and replay counters differ: $(cat "$out/c-bad.txt") against $counters" >&2; exit 1; }
"$fastlra" export --model "$out/c-bad.safetensors" --format npz --out "$out/c-bad.npz"
"$fastlra" export --model "$out/m-bad.safetensors" --format npz --out "$out/m-bad.npz"
cmp "$out/c-bad.npz" "$out/m-bad.npz" && echo "C ABI learner among bad ticks: the same counters ($counters) and weights as fastlra replay"
# Two stacked gated models, trained briefly: a 2-layer GRU on the task and a 2-layer LSTM on the
# sunspots (normalised); the C ABI steps them as `fastlra infer` does.
"$fastlra" train --task temporal-order --length 20 --cell gru --layers 2 --hidden 16 --max-iter 30 --valid-size 100 --quiet \
  --save "$out/gru2.safetensors"
"$fastlra" train --data docs/data/sunspots.csv --input-columns SUNACTIVITY --target-columns SUNACTIVITY --window 20 \
  --washout 10 --cell lstm --layers 2 --hidden 12 --max-iter 30 --quiet --save "$out/lstm2.safetensors"
for m in gru2 lstm2; do
  "$out/fastlra_test" "$out/$m.safetensors" write-inputs "$out/$m-inputs.bin" 64
  "$fastlra" infer --model "$out/$m.safetensors" --inputs "$out/$m-inputs.bin" --outputs "$out/$m-expected.bin"
  "$out/fastlra_test" "$out/$m.safetensors" check "$out/$m-inputs.bin" "$out/$m-expected.bin"
done
# The exported C header, for firmware: compiled (C99, warnings as errors) from two translation
# units, then checked against `fastlra infer` on every model: tanh, tanh normalised, GRU and
# LSTM of two layers (the LSTM normalised).
for m in model:inputs:expected sunspots:sun-inputs:sun-expected gru2:gru2-inputs:gru2-expected lstm2:lstm2-inputs:lstm2-expected; do
  IFS=: read -r model inputs expected <<<"$m"
  "$fastlra" export --model "$out/$model.safetensors" --format c --name model --out "$out/model.h"
  gcc -O2 -std=c99 -Wall -Wextra -Werror -I "$out" tests/native/header_test.c tests/native/header_other.c -lm -o "$out/header_test"
  "$out/header_test" "$out/$inputs.bin" "$out/$expected.bin"
done
