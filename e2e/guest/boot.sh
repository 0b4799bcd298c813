#!/bin/bash
# PID 1 of the guest VM: exec'd by the initramfs' /init (e2e/vm/init.sh) after switch_root into
# an overlay of the host's root.
#   boot.sh <project root>
# Brings up what a storage node has (udev, device-mapper, LIO, the iSCSI initiator), runs the
# scenarios, and powers the VM off, whatever happened. Any failure here becomes a
# {"fatal": ...} line in the results file, so the host reports why instead of waiting for
# results that never come.
set -Eeuo pipefail

readonly ROOT=${1:?usage: boot.sh <project root>}
readonly OUT=/e2e-out
readonly RESULTS=$OUT/results.jsonl
readonly INITIATOR_NAME=iqn.2026-11.io.vbs-e2e:guest
# The project's Node 24 first (through the wrapper below): the shared root also has the host's
# v20 in /usr/bin.
readonly NODE_WRAPPER_DIR=/run/vbs-e2e/bin
export PATH="$NODE_WRAPPER_DIR:$ROOT/node_modules/.bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
export LC_ALL=C

current_stage=start
stage() {
  current_stage=$*
  echo "vbs-e2e: stage $* (uptime $(cut -d' ' -f1 /proc/uptime 2>/dev/null || echo '?') s)"
}

json_escape() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/\\n}
  s=${s//$'\t'/\\t}
  s=${s//$'\r'/}
  printf '%s' "$s"
}

fatal() {
  echo "vbs-e2e: FATAL $*"
  printf '{"fatal":"%s"}\n' "$(json_escape "$*")" >>"$RESULTS" || echo "vbs-e2e: could not write $RESULTS"
  exit 1 # → power_off (EXIT trap)
}

# As PID 1 this script must never just exit: that panics the kernel (qemu would still stop,
# thanks to panic=-1 and -no-reboot, but with a misleading console). busybox's poweroff -f
# calls reboot(2) directly; systemd's poweroff needs a running systemd. sysrq is the fallback.
power_off() {
  trap - ERR EXIT
  echo "vbs-e2e: stage poweroff"
  sync
  busybox poweroff -f || echo o >/proc/sysrq-trigger || true
  sleep 30 # the power-off is asynchronous; PID 1 must outlive it
}
trap 'fatal "boot.sh: \"$BASH_COMMAND\" exited $? (line $LINENO) during stage: $current_stage"' ERR
trap power_off EXIT

# Polls `$@` until it succeeds or `timeout_s` passes.
wait_until() {
  local timeout_s=$1 what=$2
  shift 2
  local deadline=$((SECONDS + timeout_s))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || fatal "boot.sh: timed out after ${timeout_s}s waiting for $what"
    sleep 0.2
  done
}

mount -t proc proc /proc # first, so that stage lines can show the guest's uptime
stage "guest filesystems"
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/lock # iscsid does not start without it (docs/test-bed.md)

# Every `node` in the guest runs with --liftoff-only. Under TCG, V8 now and then aborts in
# Runtime_WasmTriggerTierUp ("Check failed: it->second.Size() > offset", or SIGSEGV) while tiering
# up WebAssembly to TurboFan, and Node 24 strips TypeScript types with a WebAssembly build of swc:
# on 2026-11-23 that killed 3 of about 40 node starts in test-bed runs, and 1 in 10 starts that
# import the scenario registry; with --liftoff-only 0 in 30, and such a start took 17 s instead
# of 35 s. (Not PKU: the crash stays with -cpu max,pku=off.) NODE_OPTIONS may not carry V8
# flags, hence a wrapper; code that spawns process.execPath directly bypasses it.
mkdir -p "$NODE_WRAPPER_DIR"
printf '#!/bin/sh\nexec %s --liftoff-only "$@"\n' "$(readlink -f "$ROOT/node_modules/.bin/node")" >"$NODE_WRAPPER_DIR/node"
chmod 0755 "$NODE_WRAPPER_DIR/node"
# A fresh /tmp, unless the project itself lives under /tmp (a CI clone may): a tmpfs there would
# hide it. The overlay root's /tmp is writable anyway; its writes land in the tmpfs upper layer.
case "$ROOT/" in
  /tmp/*) echo "vbs-e2e: the project is under /tmp; keeping the overlay's /tmp" ;;
  *) mount -t tmpfs -o mode=1777 tmpfs /tmp ;;
esac
# A real filesystem under the kubelet dirs: on the overlay root a fresh file reports another
# st_dev than its directory, which fools st_dev-based mount-point checks (docs/test-bed.md).
mkdir -p /var/lib/kubelet
mount -t tmpfs -o mode=0750 tmpfs /var/lib/kubelet
hostname vbs-e2e
ip link set lo up

stage "kernel modules"
mkdir -p /etc/target # LIO keeps its metadata there; without it target_core_mod logs "db_root: cannot open"
# ext4 and xfs too, which scenarios format and mount. (Autoload would find them as well now that
# init.sh switch_root's instead of chrooting; loading them here fails the boot clearly if absent.)
for module in configfs loop dm-mod dm-thin-pool dm-snapshot target_core_mod target_core_iblock iscsi_target_mod iscsi_tcp sd_mod ext4 xfs; do
  modprobe "$module"
done
mount -t configfs configfs /sys/kernel/config

# Without udev, lvcreate fails with "device not cleared" and /dev/disk/by-path links never
# appear (docs/test-bed.md). Devices made later (loop, dm, iSCSI disks) reach udevd as events;
# the coldplug below only replays the block devices that already exist. A full coldplug makes
# udev load ~40 drivers for the emulated board (ahci, drm, kvm, sound...), 7-15 s under TCG,
# and none of them matter to storage.
stage "lvm device filter"
# What docs/node-plugin.md asks of every worker and storage node: host LVM scans only the PVs it
# owns. This guest is both, and its PVs are all loop devices. Without the allow-list every lvm
# command also reads the iSCSI disks and our /dev/mapper/vbs-* devices, and while a target is
# down (an agent restart) those reads wait for the session's replacement_timeout: a
# `vgchange -an` hung that way in CI. lvmlocal.conf is read after lvm.conf and overrides it.
cat >/etc/lvm/lvmlocal.conf <<'LVMLOCAL'
local {
}
devices {
	scan_lvs = 0
	global_filter = [ "a|^/dev/loop[0-9]+$|", "r|.*|" ]
}
LVMLOCAL
lvm_filter=$(lvmconfig devices/global_filter)
[[ $lvm_filter == *'/dev/loop'* ]] || fatal "boot.sh: lvm did not take the device filter from /etc/lvm/lvmlocal.conf: $lvm_filter"
echo "vbs-e2e: lvm $lvm_filter"

stage "udev"
/lib/systemd/systemd-udevd --daemon
udevadm trigger --action=add --subsystem-match=block
udevadm settle --timeout=120

stage "network"
# A network device exists only when the host gave one (the cluster scenarios: e2e/vm/qemu.ts
# networkArgs): qemu's user network, static addresses, the API server forwarded to 10.0.2.1.
modprobe virtio_net
udevadm settle --timeout=60
net_device=$(find /sys/class/net -mindepth 1 -maxdepth 1 ! -name lo -printf '%f\n' | sort | head -n 1)
if [[ -n $net_device ]]; then
  ip addr add 10.0.2.15/24 dev "$net_device"
  ip link set "$net_device" up
  ip route add default via 10.0.2.2
  echo "vbs-e2e: network on $net_device (10.0.2.15/24)"
fi

stage "iscsid"
# A name of its own, so no ACL written for the host's initiator name can match by accident.
printf 'InitiatorName=%s\n' "$INITIATOR_NAME" >/etc/iscsi/initiatorname.iscsi
iscsid
# iscsiadm exits 21 ("no active sessions") once iscsid answers on its control socket.
iscsid_answers() {
  local code=0
  iscsiadm -m session >/dev/null 2>&1 || code=$?
  ((code == 0 || code == 21))
}
wait_until 30 "iscsid to answer" iscsid_answers

stage "kernel stack up"
only_args=()
if [[ -s $OUT/only.txt ]]; then only_args=(--only "$(<"$OUT/only.txt")"); fi
cd "$ROOT"
stage "scenarios"
node e2e/guest/runScenarios.ts --out "$OUT" "${only_args[@]}"
stage "scenarios finished"
