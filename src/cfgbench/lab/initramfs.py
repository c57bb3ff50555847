"""The guest's initramfs: busybox, the 9p modules, and an init that runs one command in the host root."""

from __future__ import annotations

import shlex
import stat
import struct
from collections.abc import Mapping, Sequence
from pathlib import Path

from cfgbench.errors import SETUP_FIX, LabError
from cfgbench.lab.kernel import module_name, read_module

BUSYBOX_CANDIDATES = (Path("/bin/busybox"), Path("/usr/bin/busybox"))
APPLETS = ("sh", "mount", "mkdir", "insmod", "chroot", "env", "cat", "uname", "sync", "poweroff", "reboot")

ROOT_TAG = "cfgbench-root"
OUT_TAG = "cfgbench-out"
GUEST_OUT = "/run/cfgbench/out"  # where the results share appears inside the chroot
GUEST_SCRATCH = "/run/cfgbench/scratch"  # the guest's writable HOME and TMPDIR (tmpfs)

# The init's reports: f"{MARKER}:{nonce}:{key}={value}", a fresh nonce so the command cannot fake its exit status.
MARKER = "@@cfgbench-lab"

# cache=loose: nobody changes the read-only root during a run; msize: the most virtio's 9p takes in 6.1.
ROOT_MOUNT_OPTIONS = "trans=virtio,version=9p2000.L,ro,cache=loose,msize=512000"
OUT_MOUNT_OPTIONS = "trans=virtio,version=9p2000.L,msize=512000"  # no cache: files land at once

_INIT = r"""#!/bin/sh
export PATH=/bin
say() {{ echo "{marker}:$*"; }}
die() {{ say "fail=$*"; poweroff -f; reboot -f; }}
mount -t proc proc /proc && mount -t sysfs sysfs /sys && mount -t devtmpfs devtmpfs /dev || die "mounting /proc, /sys, /dev"
for m in {modules}; do insmod /modules/$m.ko || die "insmod $m"; done
mount -t 9p -o {root_options} {root_tag} /newroot || die "mounting the host root over 9p (no virtio-9p in this kernel?)"
# Never let the guest see the host's /proc, /sys or device nodes through 9p.
mount -t proc proc /newroot/proc && mount -t sysfs sysfs /newroot/sys \
  && mount -t devtmpfs devtmpfs /newroot/dev && mkdir -p /newroot/dev/shm /newroot/dev/pts \
  && mount -t tmpfs tmpfs /newroot/dev/shm && mount -t devpts devpts /newroot/dev/pts \
  && mount -t tmpfs tmpfs /newroot/run && mkdir -p /newroot{guest_scratch} \
  || die "covering the host's /proc, /sys, /dev, /run"
# The host's /tmp stays visible (read-only, like the rest of the root): a project
# cloned or installed under /tmp must run in the guest. Scratch space is GUEST_SCRATCH.
# securityfs shows the kernel lockdown mode, as on a booted distribution.
mount -t securityfs securityfs /newroot/sys/kernel/security 2>/dev/null || true
mkdir -p /newroot{guest_out} && mount -t 9p -o {out_options} {out_tag} /newroot{guest_out} \
  || die "mounting the results share"
say "release=$(uname -r)"
say "cmdline=$(cat /proc/cmdline)"
say begin
/bin/sh /command </dev/null
say "exit=$?"
sync
poweroff -f
reboot -f
"""


def marker_prefix(nonce: str) -> str:
    return f"{MARKER}:{nonce}:"


def init_script(nonce: str, modules: Sequence[str]) -> str:
    return _INIT.format(marker=marker_prefix(nonce).rstrip(":"), modules=" ".join(modules), root_options=ROOT_MOUNT_OPTIONS,
                        root_tag=ROOT_TAG, out_options=OUT_MOUNT_OPTIONS, out_tag=OUT_TAG, guest_out=GUEST_OUT,
                        guest_scratch=GUEST_SCRATCH)


def command_script(argv: Sequence[str], env: Mapping[str, str], cwd: str) -> str:
    """Run argv in the chroot with exactly env, from cwd when it exists there, else /."""
    assignments = " ".join(shlex.quote(f"{key}={value}") for key, value in sorted(env.items()))
    inner = 'cd "$0" 2>/dev/null || cd /; exec "$@"'
    words = ["/bin/env", "-i", assignments, "/bin/chroot", "/newroot", "/bin/sh", "-c", shlex.quote(inner),
             shlex.quote(cwd), *(shlex.quote(arg) for arg in argv)]
    return " ".join(word for word in words if word) + "\n"


def _is_static_elf(path: Path) -> bool:
    """No PT_INTERP: a dynamic busybox cannot run in the initramfs."""
    with path.open("rb") as elf:
        header = elf.read(64)
        if header[:4] != b"\x7fELF" or header[4] != 2:  # 64-bit only: it runs in an x86-64 guest
            return False
        phoff, = struct.unpack_from("<Q", header, 0x20)
        phentsize, phnum = struct.unpack_from("<HH", header, 0x36)
        elf.seek(phoff)
        table = elf.read(phentsize * phnum)
    return all(struct.unpack_from("<I", table, i * phentsize)[0] != 3 for i in range(phnum))  # 3 = PT_INTERP


def find_busybox() -> Path:
    for candidate in BUSYBOX_CANDIDATES:
        if candidate.is_file() and _is_static_elf(candidate):
            return candidate
    raise LabError("no static busybox found (package busybox-static)", SETUP_FIX)


class _Cpio:
    """A minimal writer of the newc cpio format the kernel unpacks."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._ino = 0

    def _entry(self, name: str, mode: int, data: bytes = b"", rdev: tuple[int, int] = (0, 0)) -> None:
        self._ino += 1
        fields = (self._ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(name) + 1, 0)
        header = b"070701" + b"".join(f"{field:08x}".encode() for field in fields)
        body = header + name.encode() + b"\0"
        self._chunks.append(body + b"\0" * (-len(body) % 4))
        self._chunks.append(data + b"\0" * (-len(data) % 4))

    def directory(self, name: str) -> None:
        self._entry(name, stat.S_IFDIR | 0o755)

    def file(self, name: str, data: bytes, mode: int = 0o644) -> None:
        self._entry(name, stat.S_IFREG | mode, data)

    def symlink(self, name: str, target: str) -> None:
        self._entry(name, stat.S_IFLNK | 0o777, target.encode())

    def char_device(self, name: str, major: int, minor: int) -> None:
        self._entry(name, stat.S_IFCHR | 0o600, rdev=(major, minor))

    def getvalue(self) -> bytes:
        self._entry("TRAILER!!!", 0)
        return b"".join(self._chunks)


def build_initramfs(dest: Path, *, nonce: str, modules: Sequence[Path], command: str) -> None:
    """Uncompressed: the kernel unpacks it faster."""
    archive = _Cpio()
    for directory in ("bin", "dev", "proc", "sys", "newroot", "modules"):
        archive.directory(directory)
    # The kernel opens /dev/console for init before any devtmpfs exists.
    archive.char_device("dev/console", 5, 1)
    archive.file("bin/busybox", find_busybox().read_bytes(), 0o755)
    for applet in APPLETS:
        archive.symlink(f"bin/{applet}", "busybox")
    names = []
    for module in modules:
        names.append(module_name(module))
        archive.file(f"modules/{names[-1]}.ko", read_module(module))
    archive.file("init", init_script(nonce, names).encode(), 0o755)
    archive.file("command", command.encode(), 0o644)
    dest.write_bytes(archive.getvalue())
