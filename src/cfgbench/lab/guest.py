"""Boot a throwaway q35 guest, run one command in it, bring back its output and exit status."""

from __future__ import annotations

import codecs
import contextlib
import ctypes
import json
import os
import secrets
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cfgbench.access.base import FORBID_RAW_ENV
from cfgbench.access.ecam import RELAXED_IOMEM
from cfgbench.errors import LabError, Progress
from cfgbench.lab.census import WINDOW_LABELS, Census, parse_file, qemu_options
from cfgbench.platform import LAB_HOST_OUT_VAR, LAB_OUT_VAR, LAB_VAR, lab_host_record
from cfgbench.results import make_output_dir
from cfgbench.schema import LAB_ACCEL, LAB_MACHINE, LAB_QEMU, LAB_TREE
from cfgbench.lab.initramfs import GUEST_OUT, GUEST_SCRATCH, OUT_TAG, ROOT_TAG, build_initramfs, command_script, marker_prefix
from cfgbench.lab.kernel import find_kernel, module_load_order, pci_order_module
from cfgbench.lab.qemu import MACHINE, NinePShare, choose_accel, find_qemu, find_tree, qemu_command, qemu_version

# quiet and loglevel keep kernel chatter off the command's console; panic=-1 with -no-reboot exits on a panic.
BASE_CMDLINE = ("console=ttyS0", "quiet", "loglevel=3", "panic=-1")

HOST_VARIABLES = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "VIRTUAL_ENV", "PYTHONPATH")
POWEROFF_GRACE_S = 5.0  # after the exit report, how long the guest may take to power off


@dataclass(frozen=True)
class GuestConfig:
    accel: str = "auto"  # auto | kvm | tcg
    kernel: Path | None = None  # None: the kernel scripts/setup-lab.sh unpacked
    memory_mb: int = 1024
    smp: int = 2  # a second vCPU keeps a reader of the output off the timed CPU
    timeout_s: float = 120.0  # boot plus command
    boot_timeout_s: float = 60.0  # until the command starts: catches a kvm that hangs early
    extra_cmdline: tuple[str, ...] = ()
    pcie_target: bool = True
    relaxed_iomem: bool = True  # False: the stock kernel's STRICT_DEVMEM refuses the ECAM window
    tree: str = "default"  # qemu.TREES; only with pcie_target
    pci_order_module: bool = False  # kernel.PCI_ORDER_MODULE, loaded at boot
    census: bool = False  # count every config access (lab/census.py); needs smp=1


@dataclass(frozen=True)
class GuestResult:
    returncode: int
    output: str  # the command's stdout and stderr, as the console carried them
    lab_metadata: dict[str, str] = field(default_factory=dict)  # accel, qemu, machine, kernel_release, cmdline
    boot_seconds: float = 0.0  # until the command's start
    wall_seconds: float = 0.0
    census: Census | None = None


class _Console:
    """Splits the serial console into boot log, the command's output and the init's reports."""

    def __init__(self, nonce: str, on_output: Callable[[str], object] | None) -> None:
        self._prefix = marker_prefix(nonce)
        self._on_output = on_output
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""
        self.reports: dict[str, str] = {}
        self.output: list[str] = []
        self.log: list[str] = []  # everything that is not the command's output

    def feed(self, data: bytes) -> None:
        self._pending += self._decoder.decode(data)
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            self._line(line.removesuffix("\r"))

    def _line(self, line: str) -> None:
        text, found, report = line.partition(self._prefix)
        if text:
            self._text(text if found else f"{text}\n")  # a last line without newline ends at the report
        elif not found:
            self._text("\n")
        if found:
            key, _, value = report.partition("=")
            self.reports[key] = value

    def _text(self, text: str) -> None:
        if "begin" in self.reports and "exit" not in self.reports:
            self.output.append(text)
            if self._on_output:
                self._on_output(text)
        else:
            self.log.append(text)

    def tail(self, lines: int = 3) -> str:
        recent = [line.strip() for line in "".join(self.log + self.output).splitlines() if line.strip()]
        return " | ".join(recent[-lines:])[-300:]

    def text(self) -> str:
        return "".join(self.log + self.output)


def guest_environment(extra: Mapping[str, str] | None, lab_variables: Mapping[str, str]) -> dict[str, str]:
    env = {key: os.environ[key] for key in HOST_VARIABLES if key in os.environ}
    # `python3` in the guest is the interpreter running the lab: the same cfgbench answers.
    python_dir = str(Path(sys.executable).parent)
    path = env.get("PATH", os.defpath)
    if python_dir not in path.split(":"):
        env["PATH"] = f"{python_dir}:{path}"
    # The host root is read-only in the guest: home and temp files go to tmpfs, no .pyc writes.
    env.update(HOME=GUEST_SCRATCH, TMPDIR=GUEST_SCRATCH, TERM="dumb", PYTHONDONTWRITEBYTECODE="1")
    env.update(lab_variables)
    env.update(extra or {})
    env.pop(FORBID_RAW_ENV, None)
    return env


def lab_record(cfg: GuestConfig, accel: str, qemu_version: str) -> dict[str, str]:
    """What every file the guest writes records about its lab, by schema.py's keys (the guest adds its kernel's)."""
    record = {LAB_ACCEL: accel, LAB_QEMU: qemu_version, LAB_MACHINE: MACHINE, **lab_host_record()}
    if cfg.pcie_target:
        record[LAB_TREE] = cfg.tree
    return record


PR_SET_PDEATHSIG = 1
_prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before any fork: the child only calls it


def _die_with_parent() -> None:
    """In the child before exec: if the lab's Python dies, even by SIGKILL, so does QEMU."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


@contextlib.contextmanager
def _qemu(argv: list[str]) -> Iterator[subprocess.Popen[bytes]]:
    """QEMU in its own session (Ctrl-C reaches us, not it); always killed and reaped on the way out."""
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True, preexec_fn=_die_with_parent)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()


def _qemu_failure(stderr: str) -> str | None:
    # KVM emulation failures pause the VM instead of exiting: treat them as fatal at once.
    return next((line.strip() for line in stderr.splitlines()
                 if "internal error" in line.lower() or "emulation failure" in line.lower()), None)


class _Watch:
    """Reads QEMU's console and stderr until the guest reports its exit status and powers off, or fails."""

    def __init__(self, proc: subprocess.Popen[bytes], console: _Console, cfg: GuestConfig,
                 accel: str, started: float, say: Progress) -> None:
        assert proc.stdout and proc.stderr
        self._console, self._cfg, self._accel, self._started, self._say = console, cfg, accel, started, say
        self._stderr: list[bytes] = []
        self._selector = selectors.DefaultSelector()
        self._selector.register(proc.stdout, selectors.EVENT_READ, console.feed)
        self._selector.register(proc.stderr, selectors.EVENT_READ, self._stderr.append)
        self.boot_seconds = 0.0
        self._reported_at = 0.0

    def run(self) -> float:
        """The boot time, once the guest has reported and powered off or had its grace time."""
        try:
            while not self._finished(time.monotonic()):
                self._read_until(self._next_deadline())
        finally:
            self._selector.close()  # its epoll descriptor, one per boot
        return self.boot_seconds

    def _finished(self, now: float) -> bool:
        reports, cfg = self._console.reports, self._cfg
        if "begin" in reports and not self.boot_seconds:
            self.boot_seconds = now - self._started
            self._say(f"guest up in {self.boot_seconds:.1f} s")
        if "fail" in reports:
            raise self._error(f"guest setup failed: {reports['fail']}",
                              "check the guest kernel (--kernel) and its 9p modules")
        if "exit" in reports:
            self._reported_at = self._reported_at or now
            return not self._selector.get_map() or now > self._reported_at + POWEROFF_GRACE_S
        stderr = b"".join(self._stderr).decode(errors="replace")
        if (failure := _qemu_failure(stderr)) or not self._selector.get_map():
            cause = failure or stderr.strip() or self._console.tail()
            raise self._error(f"the guest stopped before reporting an exit status: {cause[-300:]}",
                              "use --accel tcg" if self._accel == "kvm" else "see LabError.console")
        if not self.boot_seconds and now > self._started + cfg.boot_timeout_s:
            raise self._error(
                f"the guest did not boot within {cfg.boot_timeout_s:g} s ({self._accel}); QEMU was killed; "
                f"console: {self._console.tail()}",
                "kvm may not work on this machine: use --accel tcg" if self._accel == "kvm"
                else "check the guest kernel (--kernel)")
        if now > self._started + cfg.timeout_s:
            raise self._error(f"the guest command did not finish within {cfg.timeout_s:g} s; QEMU was killed",
                              "raise the timeout if the command needs longer")
        return False

    def _next_deadline(self) -> float:
        deadlines = [self._started + self._cfg.timeout_s]
        if not self.boot_seconds:
            deadlines.append(self._started + self._cfg.boot_timeout_s)
        if self._reported_at:
            deadlines.append(self._reported_at + POWEROFF_GRACE_S)
        return min(deadlines)

    def _read_until(self, deadline: float) -> None:
        for key, _ in self._selector.select(max(0.0, deadline - time.monotonic())):
            data = os.read(key.fd, 65536)
            if data:
                key.data(data)
            else:
                self._selector.unregister(key.fileobj)

    def _error(self, cause: str, fix: str) -> LabError:
        return LabError(cause, fix, self._console.text())


def run_in_guest(argv: Sequence[str], cfg: GuestConfig = GuestConfig(), *, outdir: Path | None = None,
                 env: Mapping[str, str] | None = None, progress: Progress | None = None,
                 output: Callable[[str], object] | None = None, cwd: str | None = None, purpose: str = "") -> GuestResult:
    """Run argv in a fresh q35 guest chrooted into the host root (read-only), outdir shared at $CFGBENCH_LAB_OUT."""
    if not argv:
        raise LabError("no command given to run in the guest", "pass a command after --")
    say = progress or (lambda _line: None)
    accel = choose_accel(cfg.accel)  # first: an impossible kvm is refused before anything else
    if cfg.census and cfg.smp != 1:
        raise LabError(f"the census needs a guest with one vCPU (asked for {cfg.smp}): its markers are type 1 "
                       "address writes, which another CPU's config access could interleave with",
                       "use GuestConfig(smp=1, census=True)")
    find_tree(cfg.tree)
    qemu = find_qemu()
    kernel = find_kernel(cfg.kernel)
    modules = module_load_order(kernel.modules_dir) + ([pci_order_module(kernel)] if cfg.pci_order_module else [])
    version = qemu_version(qemu)
    relaxed = (RELAXED_IOMEM,) if cfg.relaxed_iomem else ()
    cmdline = " ".join((*BASE_CMDLINE, *relaxed, *cfg.extra_cmdline))
    workdir = Path(tempfile.mkdtemp(prefix="cfgbench-lab-"))
    try:
        out = Path(outdir) if outdir is not None else workdir / "out"
        make_output_dir(out)
        lab_variables = {LAB_VAR: json.dumps(lab_record(cfg, accel, version)), LAB_OUT_VAR: GUEST_OUT,
                         LAB_HOST_OUT_VAR: str(out.resolve())}
        nonce = secrets.token_hex(8)
        initrd = workdir / "initramfs.cpio"
        trace = workdir / "census.trace"
        if cfg.census:
            argv = [sys.executable, "-m", "cfgbench.lab.census", "run", "--", *argv]
        build_initramfs(initrd, nonce=nonce, modules=modules,
                        command=command_script(argv, guest_environment(env, lab_variables), cwd or os.getcwd()))
        shares = [NinePShare(ROOT_TAG, Path("/"), readonly=True), NinePShare(OUT_TAG, out.resolve(), readonly=False)]
        command = qemu_command(qemu, accel=accel, kernel=kernel.image, initrd=initrd, cmdline=cmdline, memory_mb=cfg.memory_mb,
                               smp=cfg.smp, shares=shares, pcie_target=cfg.pcie_target, tree=cfg.tree,
                               extra=qemu_options(trace) if cfg.census else ())
        vcpus = f"{cfg.smp} vCPU{'s' * (cfg.smp != 1)}"
        say(f"booting {MACHINE} guest{purpose and f' {purpose}'} ({accel}, {vcpus}, kernel "
            f"{kernel.release or kernel.image.name})...")
        console = _Console(nonce, output)
        started = time.monotonic()
        with _qemu(command) as proc:
            boot_seconds = _Watch(proc, console, cfg, accel, started, say).run()
        wall_seconds = time.monotonic() - started
        returncode = int(console.reports["exit"])
        say(f"command exited with {returncode}; guest done in {wall_seconds:.1f} s")
        metadata = {"accel": accel, "qemu": version, "machine": MACHINE,
                    "kernel_release": console.reports.get("release", kernel.release),
                    "cmdline": console.reports.get("cmdline", cmdline)}
        if cfg.pcie_target:
            metadata["tree"] = cfg.tree
        census = parse_file(trace, out / WINDOW_LABELS) if cfg.census else None
        return GuestResult(returncode, "".join(console.output), metadata, boot_seconds, wall_seconds, census)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
