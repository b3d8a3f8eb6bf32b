#!/usr/bin/env bash
# Four `quorumnet node` processes on this machine over tcp-noise loopback: generates their keys, one
# validator-set file and a config each in $DIR, starts them, waits until each printed height $HEIGHTS,
# prints every node's metrics summary (committed height, finality p50, connected peers, envelopes
# sent per height), then stops them with SIGTERM. Their stdout and stderr are kept in $DIR/v<i>.out and $DIR/v<i>.err.
# Usage: scripts/four-nodes.sh [HEIGHTS]   (default 10; DIR defaults to target/four-nodes;
#        BIN to target/release/quorumnet, built if missing; BASE_PORT to 27000)
set -euo pipefail
cd "$(dirname "$0")/.."
heights="${1:-10}"
DIR="${DIR:-target/four-nodes}"
BIN="${BIN:-target/release/quorumnet}"
BASE_PORT="${BASE_PORT:-27000}"
[ -x "$BIN" ] || cargo build --release --quiet --bin quorumnet
rm -rf "$DIR" && mkdir -p "$DIR"

: > "$DIR/validators.toml"
for i in 0 1 2 3; do
  out="$("$BIN" keygen --out "$DIR/v$i.key")"
  id="$(sed -n 's/^validator-id: *//p' <<<"$out")"
  public_key="$(sed -n 's/^public-key: *//p' <<<"$out")"
  cat >> "$DIR/validators.toml" <<EOF
[[validator]]
id = "$id"
public_key = "$public_key"
power = 1
addresses = ["tcp-noise://127.0.0.1:$((BASE_PORT + i))"]

EOF
  cat > "$DIR/v$i.toml" <<EOF
key_file = "v$i.key"
network = "four-nodes"
validator_set = "validators.toml"
listen = ["tcp-noise://127.0.0.1:$((BASE_PORT + i))"]
metrics = "127.0.0.1:$((BASE_PORT + 100 + i))"
preset = "local"
log = "warn"
EOF
done

pids=()
stop() { kill -TERM "${pids[@]}" 2>/dev/null || true; wait "${pids[@]}" 2>/dev/null || true; }
trap stop EXIT
for i in 0 1 2 3; do
  "$BIN" node --config "$DIR/v$i.toml" > "$DIR/v$i.out" 2> "$DIR/v$i.err" &
  pids+=($!)
done

deadline=$((SECONDS + 120))
for i in 0 1 2 3; do
  until grep -q "^committed height=$heights " "$DIR/v$i.out"; do
    if ((SECONDS > deadline)); then
      echo "node $i did not reach height $heights within 120 s; its stderr:" >&2
      cat "$DIR/v$i.err" >&2
      exit 1
    fi
    sleep 0.2
  done
done

# One line per node from its Prometheus endpoint.
for i in 0 1 2 3; do
  metrics="$(curl --silent --max-time 5 "http://127.0.0.1:$((BASE_PORT + 100 + i))/metrics")"
  # The sum of every series of a metric (labelled or not).
  pick() {
    awk -v name="$1" 'index($1, name) == 1 && (length($1) == length(name) || substr($1, length(name) + 1, 1) == "{") { sum += $NF; found = 1 }
      END { if (found) print sum; else print "?" }' <<<"$metrics"
  }
  height="$(pick quorumnet_committed_height)"
  p50="$(awk '$1 == "quorumnet_finality_seconds{quantile=\"0.5\"}" { printf "%.1f", $2 * 1000 }' <<<"$metrics")"
  envelopes="$(pick quorumnet_envelopes_sent_total)"
  echo "node $i: committed height $height, finality p50 ${p50:-?} ms, connected peers $(pick quorumnet_connected_peers)," \
    "envelopes sent $envelopes ($(awk -v e="$envelopes" -v h="$height" 'BEGIN { printf "%.1f", e / (h > 0 ? h : 1) }') per height)"
done
