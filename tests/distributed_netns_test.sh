#!/usr/bin/env bash
# Two "machines" for data-parallel training: two network namespaces, each with its own address
# (198.18.0.1 and 198.18.0.2, the range set aside for network tests), joined by a veth pair; rank 0 in
# one, rank 1 in the other, Gloo bound to each one's interface (--dist-interface). The run must end at
# the weights of one process, and the gradients must have crossed the veth pair (its byte counters),
# not loopback. Made by the test and removed after it. Needs root and iproute2; skipped (77) otherwise.
# Usage: distributed_netns_test.sh DEEPGEN WEIGHT_DIFFERENCE
set -u
# shellcheck source=script_lib.sh
source "$(dirname "$0")/script_lib.sh"
DIFF=${2:?usage: $0 deepgen weight_difference}
export OMP_NUM_THREADS=1
A=dgA$$ B=dgB$$ VA=dgva$$ VB=dgvb$$
if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null || ! ip netns add "$A" 2>/dev/null; then
  echo "skipped: needs root and iproute2 (ip netns) to make two network namespaces"
  exit 77
fi
cleanup() { ip netns del "$A" 2>/dev/null; ip netns del "$B" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
ip netns add "$B" && ip link add "$VA" type veth peer name "$VB" && ip link set "$VA" netns "$A" &&
  ip link set "$VB" netns "$B" && ip -n "$A" addr add 198.18.0.1/24 dev "$VA" &&
  ip -n "$B" addr add 198.18.0.2/24 dev "$VB" && ip -n "$A" link set "$VA" up && ip -n "$B" link set "$VB" up &&
  ip -n "$A" link set lo up && ip -n "$B" link set lo up || { echo "FAIL: cannot set up the namespaces"; exit 1; }

AE=(ae --optimizer sgd --lr 0.1 --epochs 1 --train-limit 6400 --test-limit 200 --batch-size 128 --progress none
    --no-report --no-pictures)
"$DEEPGEN" --threads 1 train "${AE[@]}" --out "$WORK/one" >/dev/null 2>"$WORK/one.err" && pass || fail "one process"
for rank in 0 1; do
  ns=$A iface=$VA
  [ $rank = 1 ] && ns=$B iface=$VB
  ip netns exec "$ns" env RANK=$rank WORLD_SIZE=2 MASTER_ADDR=198.18.0.1 MASTER_PORT=29517 "$DEEPGEN" --threads 1 \
    train "${AE[@]}" --dist-interface "$iface" --dist-timeout 60s --out "$WORK/two" >/dev/null 2>"$WORK/rank$rank.err" &
done
wait %1; s0=$?
wait %2; s1=$?
[ $s0 = 0 ] && [ $s1 = 0 ] && pass || fail "two namespaces: exit $s0 and $s1: $(tail -1 "$WORK/rank0.err") $(tail -1 "$WORK/rank1.err")"
d=$("$DIFF" "$WORK/one/checkpoint.pt" "$WORK/two/checkpoint.pt")
awk -v d="$d" 'BEGIN { exit !(d <= 1e-5) }' && pass || fail "two namespaces vs one process: weights differ by $d"
# 50 all-reduces of the 2 x 25 120 parameters' gradients (about 200 kB each way per step) crossed the veth.
bytes=$(ip -n "$A" -s link show "$VA" | awk '/RX:/ { getline; print $1 }')
[ "${bytes:-0}" -gt 5000000 ] && pass || fail "only ${bytes:-0} bytes reached 198.18.0.1 over the veth pair"
echo "distributed_netns: $passes passed, $failures failed ($bytes bytes received by rank 0's interface)"
[ $failures = 0 ]
