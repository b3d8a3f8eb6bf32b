#!/usr/bin/env bash
# The devnet benchmark (issue 7): finality latency and messages per height of `quorumnet devnet` for
# 4, 7, 16 and 100 validators on the simulator (50 ms ± 10 ms links, virtual time) and 4 and 7 on
# tcp-noise loopback (wall-clock). Prints one table; each run's report is kept in $OUT.
# Usage: scripts/devnet-bench.sh [HEIGHTS]   (default 20; the 100-validator run takes minutes and GBs)
set -euo pipefail
cd "$(dirname "$0")/.."
heights="${1:-20}"
OUT="${OUT:-target/devnet-bench}"
mkdir -p "$OUT"
cargo build --release --quiet --bin quorumnet
run() { # transport validators
  local report="$OUT/$1-$2.json"
  local start=$(date +%s.%N)
  target/release/quorumnet devnet --transport "$1" -n "$2" --heights "$heights" --latency-ms 50 --jitter-ms 10 \
    --seed 1 --report "$report" --no-progress > /dev/null
  local wall=$(echo "$(date +%s.%N) - $start" | bc)
  python3 - "$report" "$wall" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); l = r["finality_latency"]; n = r["validators"]
per_validator_bytes = r["totals"]["bytes_sent"] / n
print(f'| {r["transport"]:9} | {n:3} | {r["heights_committed"]:3} | {l["p50_ms"]:7.1f} | {l["p99_ms"]:7.1f} | '
      f'{r["signed_per_height"]:9.0f} | {r["messages_per_height"]:9.0f} | {r["messages_per_height"] / n:6.1f} | {r["bytes_per_height"] / 1e6:7.2f} | '
      f'{r["totals"]["duplicates"] / max(r["heights_committed"], 1) / n:5.2f} | {r["extra_rounds"]:3} | {float(sys.argv[2]):6.1f} |')
PY
}
# signed/ht: consensus messages signed per height; frames/ht: copies sent (direct, forwarded, heartbeats,
# gossip control); /valid: frames per validator per height; dup/v/h: duplicates per validator per height.
echo "| transport | N   | hts | p50 ms  | p99 ms  | signed/ht | frames/ht | /valid | MB/ht   | dup/v/h | x-r | wall s |"
echo "| --------- | --- | --- | ------- | ------- | --------- | --------- | ------ | ------- | ------- | --- | ------ |"
for n in 4 7 16 100; do run memory "$n"; done
for n in 4 7; do run tcp-noise "$n"; done
