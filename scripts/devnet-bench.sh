#!/usr/bin/env bash
# The devnet benchmark (issue 7, WAN rows issue 18): finality latency and messages per height of
# `quorumnet devnet` for 4, 7, 16 and 100 validators on the simulator (50 ms ± 10 ms links, virtual
# time), 4 and 7 on tcp-noise loopback (wall-clock), and 7 validators over WAN links (300 ± 100 ms;
# 150 ± 50 ms with and without resets every ~2 s), each WAN row with step timeouts from the measured
# quorum round trip (the default) next to `--timeouts fixed`; and 100 validators with 1 MiB blocks over
# 1 Gbit/s per validator (proposal parts: the proposer uploads about 2.6 blocks per height, not 99).
# Prints one table; each run's report is kept in $OUT.
# 1 000 validators (issue 17) run on the default bounded topology (degree 8) for 5 heights.
# Usage: scripts/devnet-bench.sh [HEIGHTS]   (default 20; the 1 000-validator run takes minutes and GBs)
#        ROWS='regex' runs only the rows whose name matches (e.g. ROWS='wan|big-blocks').
set -euo pipefail
cd "$(dirname "$0")/.."
heights="${1:-20}"
ROWS="${ROWS:-.}"
OUT="${OUT:-target/devnet-bench}"
mkdir -p "$OUT"
cargo build --release --quiet --bin quorumnet
run() { # name transport validators latency-ms jitter-ms [extra devnet options]
  local name="$1" transport="$2" n="$3" latency="$4" jitter="$5"
  [[ "$name" =~ $ROWS ]] || return 0
  shift 5
  local report="$OUT/$name.json"
  local start=$(date +%s.%N)
  target/release/quorumnet devnet --transport "$transport" -n "$n" --heights "$heights" --latency-ms "$latency" \
    --jitter-ms "$jitter" --seed 1 --report "$report" --no-progress "$@" > /dev/null
  local wall=$(echo "$(date +%s.%N) - $start" | bc)
  python3 - "$report" "$wall" "$name" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); l = r["finality_latency"]; n = r["validators"]
print(f'| {sys.argv[3]:24} | {n:3} | {r["timeouts"]:7} | {r["heights_committed"]:3} | {l["p50_ms"]:7.1f} | {l["p99_ms"]:7.1f} | '
      f'{r["signed_per_height"]:9.0f} | {r["messages_per_height"]:9.0f} | {r["messages_per_height"] / n:6.1f} | {r["bytes_per_height"] / 1e6:7.2f} | '
      f'{r["totals"]["duplicates"] / max(r["heights_committed"], 1) / n:5.2f} | {r["extra_rounds"]:3} | {100 * r["round_zero_share"]:4.0f} | '
      f'{r["proposer_upload_blocks"]:6.2f} | {float(sys.argv[2]):6.1f} | {r["peak_rss_mb"] or 0:7.0f} | {r["degree"] or "mesh":>4} |')
PY
}
# signed/ht: consensus messages signed per height; frames/ht: copies sent (direct, forwarded, heartbeats,
# gossip control); /valid: frames per validator per height; dup/v/h: duplicates per validator per height;
# x-r: extra rounds (summed over validators); r0 %: decisions made in round 0; up/blk: bytes of
# proposals their proposers uploaded per height, in blocks; RSS MB: the process's peak; deg: links per
# validator (mesh: a full mesh).
echo "| run                      | N   | timeout | hts | p50 ms  | p99 ms  | signed/ht | frames/ht | /valid | MB/ht   | dup/v/h | x-r | r0 % | up/blk | wall s | RSS MB  | deg  |"
echo "| ------------------------ | --- | ------- | --- | ------- | ------- | --------- | --------- | ------ | ------- | ------- | --- | ---- | ------ | ------ | ------- | ---- |"
for n in 4 7 16 100; do run "memory-$n" memory "$n" 50 10; done
heights=5 run "memory-1000" memory 1000 50 10
for n in 4 7; do run "tcp-noise-$n" tcp-noise "$n" 50 10; done
for timeouts in network fixed; do
  run "wan300-$timeouts" memory 7 300 100 --timeouts "$timeouts"
  run "wan150-$timeouts" memory 7 150 50 --timeouts "$timeouts"
  run "wan150-resets-$timeouts" memory 7 150 50 --reset-every 2 --timeouts "$timeouts"
done
for timeouts in network fixed; do
  run "big-blocks-100-$timeouts" memory 100 50 10 --block-bytes 1048576 --bandwidth-mbit 1000 --timeouts "$timeouts"
done
