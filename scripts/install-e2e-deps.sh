#!/usr/bin/env bash
# Installs what the real-kernel test bed (e2e/) needs on a Debian 12 (bookworm) host, as root.
#
# Idempotent: when every package is already installed it does not touch apt at all (about 1 s).
# It never starts services on the host: the guest VM starts its own udevd and iscsid, and a host
# without device-mapper/LIO modules has no use for them (README.md, "The real-kernel test bed").
set -euo pipefail

readonly PACKAGES=(
  qemu-system-x86   # the VM (software emulation; KVM hangs on these machines)
  linux-image-amd64 # the guest kernel: /boot/vmlinuz-<ver> + /lib/modules/<ver>, never booted on the host
  busybox-static    # the initramfs' shell, mount, insmod, chroot, poweroff
  cpio              # to inspect a built initramfs: cpio -itv < .e2e-work/initramfs-*.cpio
  kmod              # modprobe --show-depends resolves the initramfs' module order; modprobe in the guest
  udev              # systemd-udevd in the guest: lvcreate and /dev/disk/by-path need it
  lvm2
  open-iscsi
  e2fsprogs
  xfsprogs
  util-linux
  fio
  qemu-utils        # qemu-img, qemu-io: the guest imports a sparse qcow2 as CDI's importer does
  procps
  mmdebstrap        # npm run image: the image's Debian root filesystem (scripts/build-image.sh)
  buildah           # npm run image: assembles the OCI archive, no registry, vfs storage
  crun              # the OCI runtime of scripts/check-containerd-image-store.ts
  runc              # containerd's OCI runtime in the cluster scenarios (docs/kubernetes-test-bed.md)
  socat             # qemu's guest forwards: one socat per guest connection to a host port (e2e/vm/qemu.ts)
  golang-github-containers-common # /etc/containers policy.json and registries.conf for buildah
)

log() { printf 'install-e2e-deps: %s\n' "$*"; }

missing_packages() {
  local pkg status
  for pkg in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    [[ $status == installed ]] || printf '%s\n' "$pkg"
  done
}

apt_lists_present() {
  compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null
}

# Keeps maintainer scripts (open-iscsi, udev) from starting daemons on the host, whatever init
# system the machine has. An existing policy-rc.d (container images ship one) is left as it is.
POLICY_RC_D=/usr/sbin/policy-rc.d
created_policy=false
forbid_service_starts() {
  if [[ ! -e $POLICY_RC_D ]]; then
    printf '#!/bin/sh\n# temporary, from vbs-csi scripts/install-e2e-deps.sh\nexit 101\n' >"$POLICY_RC_D"
    chmod 0755 "$POLICY_RC_D"
    created_policy=true
  fi
}
restore_service_starts() {
  if [[ $created_policy == true ]]; then rm -f "$POLICY_RC_D"; fi
}

apt_install() {
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
}

main() {
  local -a missing
  mapfile -t missing < <(missing_packages)
  if ((${#missing[@]} == 0)); then
    log "all ${#PACKAGES[@]} packages already installed"
    return 0
  fi
  if ((EUID != 0)); then
    log "must run as root to install: ${missing[*]}" >&2
    return 1
  fi
  log "installing: ${missing[*]}"

  forbid_service_starts
  trap restore_service_starts EXIT

  # apt-get update only when needed: no package lists at all, or the install cannot find a
  # package (stale lists). One retry after an update, then give up loudly.
  if ! apt_lists_present; then
    apt-get update -q
    apt_install "${missing[@]}"
  elif ! apt_install "${missing[@]}"; then
    log "install failed; refreshing package lists and retrying once"
    apt-get update -q
    apt_install "${missing[@]}"
  fi

  mapfile -t missing < <(missing_packages)
  if ((${#missing[@]} != 0)); then
    log "still missing after install: ${missing[*]}" >&2
    return 1
  fi
  log "done"
}

main "$@"
