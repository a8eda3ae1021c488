#!/usr/bin/env bash
# Per-tick latency of the control thread over 1,000,000 ticks (I = 4, O = 2), H = 32 and 100: no
# learning, inline learning and background learning (docs/performance.md). Usage:
# docs/online/latency.sh [FASTLRA...]   (the fastlra command, default $FASTLRA or fastlra; the
# tables are the Native AOT binary's: docs/online/run.sh says how to make it; needs python3)
set -euo pipefail
here=$(dirname "$0")
# shellcheck source=../results/lib.sh
source "$here/../results/lib.sh"
fastlra_command "$@"
cd "$here/../.."
series=$(mktemp --suffix .csv)
cleanup+=("$series")
python3 - "$series" <<'PY'
import math, random, sys
random.seed(4)
s = [0.0] * 4
with open(sys.argv[1], "w") as f:
    f.write("a,b,c,d,y1,y2\n")
    for t in range(1000001):
        s = [0.9 * x + 0.1 * random.uniform(-1, 1) for x in s]
        f.write("%.4f,%.4f,%.4f,%.4f,%.4f,%.4f\n" % (s[0], s[1], s[2], s[3], math.tanh(s[0] + s[1]), s[2] * s[3]))
PY
run() { # hidden, label, then the learner's options
  local hidden=$1 label=$2; shift 2
  "${F[@]}" replay --data "$series" --input-columns a,b,c,d --target-columns y1,y2 --hidden "$hidden" --window 16 --quiet --json "$@" 2>/dev/null |
    python3 -c "import json,sys; d=json.load(sys.stdin); print('| $hidden | $label | %.2f | %.2f | %.2f | %.1f | %d | %d | %s |' % (d['tick_p50_us'], d['tick_p99_us'], d['tick_p999_us'], d['tick_max_us'], d['updates'], d['skipped_updates'], '-' if d['updates'] == 0 else '%.1f' % d['update_mean_us']))"
}
echo "| H | learning | p50 us | p99 us | p99.9 us | max us | updates | skipped | us per update |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for h in 32 100; do
  run $h "none" --update-every 1000000000
  run $h "inline BPTT, U=10" --algo bptt --update-every 10
  run $h "inline LRA K=3, U=10" --algo lra --k 3 --beta 1 --update-every 10
  run $h "background BPTT, U=1" --algo bptt --mode background
  run $h "background LRA K=3, U=1" --algo lra --k 3 --beta 1 --mode background
done
