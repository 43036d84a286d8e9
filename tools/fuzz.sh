#!/usr/bin/env bash
# Longer fuzzing run of the image, ONNX and checkpoint readers: FuzzTests with many more cases.
#   tools/fuzz.sh [CASES] [SEED]     (defaults: 5000 cases per input file, seed from the clock)
set -euo pipefail
cd "$(dirname "$0")/.."
export NEURALSTYLE_FUZZ_CASES="${1:-5000}"
export NEURALSTYLE_FUZZ_SEED="${2:-$(date +%s)}"
echo "fuzzing with ${NEURALSTYLE_FUZZ_CASES} cases per input, seed ${NEURALSTYLE_FUZZ_SEED}"
dotnet test -c Release --filter "FullyQualifiedName~FuzzTests" --logger "console;verbosity=detailed"
