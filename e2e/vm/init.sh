#!/bin/busybox sh
# /init of the test bed's initramfs (built by e2e/vm/initramfs.ts):
#  1. loads the virtio, 9p and overlay modules listed in /etc/vbs-modules;
#  2. mounts the host's root (9p tag "hostroot", read-only) under a tmpfs overlay at /newroot,
#     and the host's writable results folder (9p tag "out") at /newroot/e2e-out;
#  3. switch_root's into the overlay and execs <vbs.root>/e2e/guest/boot.sh as PID 1, which
#     powers the VM off when it is done.
# switch_root rather than chroot: the kernel runs its helpers (request_module → /sbin/modprobe,
# e.g. for "mount -t ext4" or LIO's backstore plugins) in PID 1's root, and systemd's tools
# (udevadm) refuse to work when they detect a chroot. After switch_root the overlay is the root.
# The project root comes from the kernel command line (vbs.root=/path), never hard-coded.
/bin/busybox --install -s /bin
export PATH=/bin

stage() { echo "vbs-e2e: stage $*"; }
die() {
  echo "vbs-e2e: FATAL (initramfs) $*"
  sync
  poweroff -f
  exit 1 # not reached; if it were, PID 1 exiting panics the kernel, and panic=-1 + -no-reboot stops qemu
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
stage "init"

root=
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    vbs.root=*) root=${arg#vbs.root=} ;;
  esac
done
[ -n "$root" ] || die "no vbs.root= on the kernel command line"

stage "initramfs modules"
while read -r module; do
  [ -n "$module" ] || continue
  insmod "/lib/modules/$module" || die "insmod $module failed"
done </etc/vbs-modules

stage "shared root"
mkdir -p /lower /rw /newroot
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /lower || die "cannot mount the host root (9p tag hostroot)"
mount -t tmpfs -o mode=0755 tmpfs /rw
mkdir -p /rw/upper /rw/work
mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work /newroot || die "cannot mount the overlay root"
mkdir -p /newroot/e2e-out
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 out /newroot/e2e-out || die "cannot mount the results share (9p tag out)"
[ -f "/newroot$root/e2e/guest/boot.sh" ] || die "no $root/e2e/guest/boot.sh in the shared root"

stage "boot.sh"
umount /proc /sys /dev # boot.sh mounts its own; these would only linger, hidden, under the new root
exec switch_root /newroot /usr/bin/env -i HOME=/root TERM=dumb PATH=/usr/sbin:/usr/bin:/sbin:/bin \
  /bin/bash "$root/e2e/guest/boot.sh" "$root"
