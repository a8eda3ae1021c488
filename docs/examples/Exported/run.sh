#!/usr/bin/env bash
# Exports a model as a C# class and runs a program that compiles it in (CI runs this).
# Usage: docs/examples/Exported/run.sh [fastlra]   (default: the JIT build of the CLI)
set -euo pipefail
cd "$(dirname "$0")/../../.."
out=artifacts/examples-cs
mkdir -p "$out"
if [ $# -gt 0 ]; then fastlra=("$1"); else fastlra=(dotnet src/FastLra.Cli/bin/Release/net10.0/fastlra.dll); fi
"${fastlra[@]}" export --model docs/online/pendulum.safetensors --format csharp --name Pendulum --namespace Acme.Control --out "$out/Pendulum.g.cs"
dotnet run -c Release --project docs/examples/Exported -p:ExportedModel="$PWD/$out/Pendulum.g.cs" -- docs/online/pendulum.safetensors
