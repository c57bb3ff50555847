#!/usr/bin/env bash
# Installs what `cfgbench lab` needs, idempotently:
#   - Debian packages: QEMU, busybox-static (the guest's init), kmod, pciutils, xz-utils
#     (the initramfs is written by cfgbench itself: no cpio binary); for the workflow's
#     end-to-end test (tests/lab/test_workflow_e2e.py), whose guest is a CI runner:
#     sudo, and the Debian Python with venv, headers and gcc that the runner builds with;
#   - the stock Debian kernel (the package linux-image-amd64 depends on), unpacked
#     with `dpkg -x` into the cache dir, plus its uncompressed vmlinux: the kernel
#     has CONFIG_PVH=y, so QEMU boots vmlinux with -kernel directly, which skips
#     the decompressor and is faster under TCG.
#   - the headers of that same kernel release (linux-headers-<release>, its -common
#     package and linux-kbuild-<major.minor>), unpacked the same way into the cache,
#     and the lab's config-order module (src/cfgbench/lab/kmod) built against them
#     into $CACHE/kmod/<release>: it is loaded only in the throwaway lab guest
#     (docs/safety.md), never on this machine; a failed build is a setup error;
#   - optionally byte-compiles a Python's import path (PYTHON=/path/to/python, or
#     the first argument): the guest sees the host root read-only and would
#     otherwise recompile every module at every start.
# It does not create a venv or install cfgbench: the caller does that.
#
# Usage: scripts/setup-lab.sh [PYTHON]
# Cache: ${XDG_CACHE_HOME:-$HOME/.cache}/cfgbench/{kernel,headers,kmod} (CFGBENCH_LAB_CACHE overrides).
set -euo pipefail

PYTHON=${1:-${PYTHON:-}}
CACHE=${CFGBENCH_LAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cfgbench}
KERNEL_DIR="$CACHE/kernel"
HEADERS_DIR="$CACHE/headers"
KMOD_SOURCE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/src/cfgbench/lab/kmod"
PACKAGES=(qemu-system-x86 busybox-static kmod pciutils xz-utils sudo python3-venv python3-dev gcc make)
RELEASE=""  # the guest kernel's release, set by install_kernel

log() { echo "setup-lab: $*"; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=0
apt_update_once() {
    if [ "$apt_updated" -eq 0 ]; then
        as_root apt-get update -qq
        apt_updated=1
    fi
}

install_packages() {
    local missing=()
    for pkg in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q '^install ok installed$' \
            || missing+=("$pkg")
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        log "packages already installed"
        return
    fi
    log "installing ${missing[*]}"
    apt_update_once
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# The versioned package behind the linux-image-amd64 metapackage, e.g. linux-image-6.1.0-56-amd64.
kernel_package() {
    local dep
    dep=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}')
    if [ -z "$dep" ]; then
        apt_update_once
        dep=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/ {print $2; exit}')
    fi
    [ -n "$dep" ] || { echo "setup-lab: cannot resolve linux-image-amd64" >&2; exit 1; }
    echo "$dep"
}

# vmlinuz is a bzImage whose payload is xz: find the xz magic and decompress
# from there (what the kernel's scripts/extract-vmlinux does).
extract_vmlinux() {
    local vmlinuz=$1 out=$2 offset tmp
    tmp="$out.tmp.$$"
    for offset in $(LC_ALL=C grep -aboP '\xfd7zXZ\x00' "$vmlinuz" | cut -d: -f1); do
        # xz complains about the trailing bytes after the stream; the ELF check decides.
        tail -c +"$((offset + 1))" "$vmlinuz" | xz -dc 2>/dev/null >"$tmp" || true
        if [ "$(head -c 4 "$tmp" | od -An -c | tr -d ' ')" = '177ELF' ]; then
            mv "$tmp" "$out"
            return 0
        fi
    done
    rm -f "$tmp"
    echo "setup-lab: no xz-compressed ELF found in $vmlinuz" >&2
    return 1
}

# apt-get download of packages into a fresh directory that _apt may read; prints the directory.
download_debs() {
    local workdir
    workdir=$(mktemp -d)
    chmod 755 "$workdir"
    (cd "$workdir" && apt-get download "$@" >/dev/null 2>&1) || {
        apt_update_once
        (cd "$workdir" && apt-get download "$@" >&2)
    }
    echo "$workdir"
}

install_kernel() {
    local pkg release vmlinuz workdir
    pkg=$(kernel_package)
    release=${pkg#linux-image-}
    RELEASE=$release
    vmlinuz="$KERNEL_DIR/boot/vmlinuz-$release"
    if [ ! -f "$vmlinuz" ] || [ ! -d "$KERNEL_DIR/lib/modules/$release" ]; then
        log "fetching $pkg into $KERNEL_DIR"
        mkdir -p "$KERNEL_DIR"
        workdir=$(download_debs "$pkg")
        dpkg -x "$workdir"/"$pkg"_*.deb "$KERNEL_DIR"
        rm -rf "$workdir"
    else
        log "kernel $release already unpacked"
    fi
    # dpkg -x skips the postinst that runs depmod: the lab resolves module order from modules.dep.
    if [ ! -f "$KERNEL_DIR/lib/modules/$release/modules.dep" ]; then
        log "depmod $release"
        depmod -b "$KERNEL_DIR" "$release"
    fi
    if [ ! -f "$KERNEL_DIR/boot/vmlinux-$release" ]; then
        log "extracting vmlinux-$release"
        extract_vmlinux "$vmlinuz" "$KERNEL_DIR/boot/vmlinux-$release"
    fi
}

# The headers Debian builds out-of-tree modules with, for exactly the release unpacked above.
install_headers() {
    local release=$RELEASE kbuild pkg workdir tree="$HEADERS_DIR/usr/src/linux-headers-$RELEASE"
    kbuild="linux-kbuild-$(echo "$release" | cut -d. -f1,2)"
    if [ ! -f "$tree/Makefile" ] || [ ! -d "$HEADERS_DIR/usr/src/linux-headers-${release%-*}-common" ] \
        || [ ! -d "$HEADERS_DIR/usr/lib/$kbuild" ]; then
        log "fetching the headers of $release into $HEADERS_DIR"
        mkdir -p "$HEADERS_DIR"
        workdir=$(download_debs "linux-headers-$release" "linux-headers-${release%-*}-common" "$kbuild")
        for pkg in "$workdir"/*.deb; do dpkg -x "$pkg" "$HEADERS_DIR"; done
        rm -rf "$workdir"
    else
        log "headers of $release already unpacked"
    fi
    # The flavour's Makefile includes the common tree by its absolute /usr/src path: point it at ours.
    sed -i "s|^include .*/usr/src/linux-headers-|include $HEADERS_DIR/usr/src/linux-headers-|" "$tree/Makefile"
}

# The lab's config-order module, built in the cache (never in the source tree); rebuilt when
# its sources change. A failed build stops the setup.
build_pci_order_module() {
    local tree="$HEADERS_DIR/usr/src/linux-headers-$RELEASE" build="$CACHE/kmod/$RELEASE" stamp
    stamp=$(cat "$KMOD_SOURCE"/Kbuild "$KMOD_SOURCE"/*.c | sha256sum | cut -d' ' -f1)
    if [ -f "$build/cfgbench_pci_order.ko" ] && [ "$(cat "$build/.source-sha256" 2>/dev/null)" = "$stamp" ]; then
        log "config-order module for $RELEASE already built"
        return
    fi
    log "building the config-order module for $RELEASE in $build"
    rm -rf "$build"
    mkdir -p "$build"
    cp "$KMOD_SOURCE"/Kbuild "$KMOD_SOURCE"/*.c "$build"/
    if ! make -s -C "$tree" M="$build" modules >"$build/build.log" 2>&1 || [ ! -f "$build/cfgbench_pci_order.ko" ]; then
        cat "$build/build.log" >&2
        echo "setup-lab: building the config-order module against linux-headers-$RELEASE failed (log above, and in $build/build.log)" >&2
        exit 1
    fi
    echo "$stamp" >"$build/.source-sha256"
}

byte_compile() {
    [ -n "$PYTHON" ] || return 0
    log "byte-compiling the import path of $PYTHON"
    # Only directories: zip files on sys.path are skipped by compileall anyway.
    # quiet=2, -W ignore: the stdlib ships test files that do not compile on purpose.
    "$PYTHON" -W ignore - <<'EOF'
import compileall, os, sys
for path in sys.path:
    if path and os.path.isdir(path) and os.access(path, os.W_OK):
        compileall.compile_dir(path, quiet=2, workers=0)
EOF
}

install_packages
install_kernel
install_headers
build_pci_order_module
byte_compile
log "ready: kernel in $KERNEL_DIR, config-order module in $CACHE/kmod/$RELEASE"
