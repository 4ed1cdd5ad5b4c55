#!/usr/bin/env bash
# tgtd (Debian `tgt`, a C user-space iSCSI target): the block peer of bench/iscsi.py.
#
#   BACKING=FILE bench/peers/tgt.sh up     # start tgtd on 127.0.0.1 with FILE as LUN 1
#   bench/peers/tgt.sh down                # stop the tgtd that `up` started (by its PID)
#
# Installs `tgt` with apt-get when tgtd is missing (root). One target, one disk LUN (LUN 0 is
# tgt's own controller). By default the target offers the iSCSI session parameters Stratus's
# target offers (blockstore/iscsi/negotiate.py, TargetLimits): 256 KiB data segments both ways,
# 1 MiB bursts, a 256 KiB first burst, InitialR2T=No, ImmediateData=Yes, 8 outstanding R2Ts.
# PARAMS= (set and empty) leaves tgtd's own defaults (8 KiB segments, InitialR2T=Yes, one R2T).
#
# Environment (defaults):
#   BACKING      (required for up) the backing file; created sparse with SIZE when missing
#   SIZE=1G      size of a new backing file
#   PORT=13260   portal port on 127.0.0.1
#   CTRL=        tgtd's control port (its socket /var/run/tgtd/socket.CTRL): the first free from 7100
#   IQN=iqn.2024-01.org.stratus.peer:tgt0
#   BSTYPE=rdwr  backing-store type (rdwr: pread/pwrite on a thread pool; aio: libaio)
#   BSOFLAGS=    "" or direct (O_DIRECT backing), sync, sync:direct
#   PARAMS="MaxRecvDataSegmentLength=262144 ..."   Key=Value pairs applied with tgtadm
#   STATE=${XDG_CACHE_HOME:-$HOME/.cache}/stratus-bench/tgt-$PORT   pid file, log, control port
# `up` prints TGT_PID=, TGT_CTRL= and ISCSI_URL= lines last.
set -euo pipefail

PORT=${PORT:-13260}
IQN=${IQN:-iqn.2024-01.org.stratus.peer:tgt0}
BSTYPE=${BSTYPE:-rdwr}
BSOFLAGS=${BSOFLAGS:-}
SIZE=${SIZE:-1G}
STATE=${STATE:-${STRATUS_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stratus-bench}/tgt-$PORT}
PARAMS=${PARAMS-MaxRecvDataSegmentLength=262144 MaxXmitDataSegmentLength=262144 MaxBurstLength=1048576 FirstBurstLength=262144 InitialR2T=No ImmediateData=Yes MaxOutstandingR2T=8}
PIDFILE=$STATE/tgtd.pid

say() { echo "[tgt.sh] $*" >&2; }

up() {
  [[ -n ${BACKING:-} ]] || { say "set BACKING to the LUN's file"; exit 2; }
  if [[ -s $PIDFILE ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    say "tgtd already running (pid $(cat "$PIDFILE")): run down first"; exit 1
  fi
  if ! command -v tgtd >/dev/null; then
    say "installing tgt (Debian)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q tgt >/dev/null
  fi
  mkdir -p "$STATE"
  local ctrl=${CTRL:-}
  if [[ -z $ctrl ]]; then
    for ctrl in $(seq 7100 7399); do [[ -e /var/run/tgtd/socket.$ctrl ]] || break; done
  fi
  echo "$ctrl" > "$STATE/ctrl"
  [[ -e $BACKING ]] || truncate -s "$SIZE" "$BACKING"
  local adm=(tgtadm -C "$ctrl" --lld iscsi)
  # tgtd daemonizes itself; -p writes its pid; the portal replaces 0.0.0.0:3260 and [::]:3260.
  tgtd -C "$ctrl" -p "$PIDFILE" --iscsi "portal=127.0.0.1:$PORT" >> "$STATE/tgtd.log" 2>&1
  local ok=0
  for _ in $(seq 1 50); do
    "${adm[@]}" --mode sys --op show >/dev/null 2>&1 && { ok=1; break; }
    sleep 0.1
  done
  ((ok)) || { say "tgtd did not answer on control port $ctrl; see $STATE/tgtd.log"; down; exit 1; }
  "${adm[@]}" --mode target --op new --tid 1 --targetname "$IQN"
  "${adm[@]}" --mode logicalunit --op new --tid 1 --lun 1 --backing-store "$BACKING" \
    --bstype "$BSTYPE" ${BSOFLAGS:+--bsoflags "$BSOFLAGS"}
  "${adm[@]}" --mode target --op bind --tid 1 --initiator-address ALL
  local kv
  for kv in $PARAMS; do
    "${adm[@]}" --mode target --op update --tid 1 --name "${kv%%=*}" --value "${kv#*=}"
  done
  say "tgtd pid $(cat "$PIDFILE") on 127.0.0.1:$PORT, LUN 1 = $BACKING (${BSOFLAGS:-buffered}), params: ${PARAMS:-tgtd defaults}"
  echo "TGT_PID=$(cat "$PIDFILE")"
  echo "TGT_CTRL=$ctrl"
  echo "ISCSI_URL=iscsi://127.0.0.1:$PORT/$IQN/1"
}

down() {
  [[ -s $PIDFILE ]] || { say "no pid file $PIDFILE: nothing to stop"; return 0; }
  local pid ctrl
  pid=$(cat "$PIDFILE")
  ctrl=$(cat "$STATE/ctrl" 2>/dev/null || echo "${CTRL:-0}")
  local adm=(tgtadm -C "$ctrl" --lld iscsi)
  # The polite way first: drop the target (even with sessions) and ask tgtd to exit.
  "${adm[@]}" --mode target --op delete --force --tid 1 >/dev/null 2>&1 || true
  "${adm[@]}" --mode sys --op delete >/dev/null 2>&1 || true
  local sig
  for sig in TERM KILL; do
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill "-$sig" "$pid" 2>/dev/null || true
  done
  rm -f "$PIDFILE"
  say "tgtd pid $pid stopped"
}

case ${1:-} in
  up) up ;;
  down) down ;;
  *) echo "usage: BACKING=FILE $0 up | $0 down" >&2; exit 2 ;;
esac
