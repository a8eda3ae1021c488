#!/usr/bin/env bash
# Exports two models as C# classes, the pendulum's one tanh layer and a 2-layer LSTM trained here
# briefly on the same data (normalised), and runs a program that compiles them in (CI runs this).
# Usage: docs/examples/Exported/run.sh [fastlra]   (default: the JIT build of the CLI)
set -euo pipefail
cd "$(dirname "$0")/../../.."
out=artifacts/examples-cs
rm -rf "$out" && mkdir -p "$out"
if [ $# -gt 0 ]; then fastlra=("$1"); else fastlra=(dotnet src/FastLra.Cli/bin/Release/net10.0/fastlra.dll); fi
"${fastlra[@]}" train --data docs/data/pendulum.csv --input-columns u,theta --target-columns theta --window 20 --washout 10 \
  --cell lstm --layers 2 --hidden 8 --max-iter 30 --quiet --save "$out/stacked.safetensors"
"${fastlra[@]}" export --model docs/online/pendulum.safetensors --format csharp --name Pendulum --namespace Acme.Control --out "$out/Pendulum.g.cs"
"${fastlra[@]}" export --model "$out/stacked.safetensors" --format csharp --name Stacked --namespace Acme.Control --out "$out/Stacked.g.cs"
dotnet run -c Release --project docs/examples/Exported -p:ExportedModels="$PWD/$out" -- docs/online/pendulum.safetensors "$out/stacked.safetensors"
