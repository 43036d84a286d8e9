#!/usr/bin/env bash
# Two builds of neuralstyle, alternately: on a shared machine whose speed drifts between runs, only alternated runs
# compare. Builds each revision in its own worktree under out/compare/, then runs `bench iteration --json` for
# each in turn, ROUNDS times (which goes first alternates), and prints each round's medians and their ratio new/old.
#   tools/bench-compare.sh OLD_REV NEW_REV [SIZE=256] [ROUNDS=4] [REPEAT=10]
# NEW_REV may be "work" for the working tree as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
old="${1:?usage: tools/bench-compare.sh OLD_REV NEW_REV [SIZE] [ROUNDS] [REPEAT]}"
new="${2:?usage: tools/bench-compare.sh OLD_REV NEW_REV [SIZE] [ROUNDS] [REPEAT]}"
size="${3:-256}" rounds="${4:-4}" repeat="${5:-10}"
root="$PWD/out/compare"
mkdir -p "$root"

build() { # REV → path of its neuralstyle.dll
  local rev="$1" source="$PWD"
  if [ "$rev" != work ]; then
    source="$root/src-$(git rev-parse --short "$rev")"
    [ -d "$source" ] || git worktree add --detach "$source" "$rev" >/dev/null 2>&1
  fi
  local out="$root/bin-$( [ "$rev" = work ] && echo work || git rev-parse --short "$rev")"
  dotnet build -c Release "$source/src/NeuralStyle.Cli" -o "$out" >/dev/null
  echo "$out/neuralstyle.dll"
}

a=$(build "$old"); b=$(build "$new")
median() { python3 -c 'import json,sys; print(json.load(sys.stdin)["total_ms"]["median"])'; }
ratios=()
bench() { dotnet "$1" bench iteration --size "$size" --repeat "$repeat" --json | median; }
for round in $(seq "$rounds"); do
  # Each build goes first in every other round, so that whatever favours the first or the second run of a pair
  # (the machine warming up, or the first run's memory still being returned) cancels out over an even count.
  if (( round % 2 )); then x=$(bench "$a"); y=$(bench "$b"); else y=$(bench "$b"); x=$(bench "$a"); fi
  r=$(python3 -c "print(f'{$y / $x:.2f}')")
  ratios+=("$r")
  printf 'round %d, %d px: %s %.0f ms, %s %.0f ms, new/old %s\n' "$round" "$size" "$old" "$x" "$new" "$y" "$r"
done
python3 -c "import statistics,sys; print(f'median new/old over {len(sys.argv)-1} rounds: {statistics.median(map(float, sys.argv[1:])):.2f}')" "${ratios[@]}"
