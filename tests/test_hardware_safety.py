"""cfgbench only reads config space (issue 6, "safety of the hardware").

Proved from the sources, without touching hardware:
- the native code's only port output is `outl` to the constant 0xCF8 (the
  type 1 address register); its port inputs read the type 1 data port, or the
  address register as a dword (the split workload's address read), nothing
  else; it never stores through a pointer into device memory (the compiler is
  made to check that too);
- no accessor, and no native function, offers a write;
- nothing in src/ opens a file under /dev, /sys or /proc writably, however
  its path is built (tests/devicepaths.py follows the values; an audit hook
  watches the commands at run time); only the mmio accessor opens /dev/mem,
  nothing opens /dev/port, and /dev/mem is mapped read-only, only inside an
  ECAM window;
- the built code loads device memory through %eax/%ax/%al only (the AMD
  family 10h MMCONFIG rule Linux follows);
- ioperm is asked for 0xCF8-0xCFF only (iopl(3), all ports, is the fallback
  where ioperm is unavailable, as in pciutils)."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import cfgbench
from cfgbench import access
from cfgbench._native import _loops, ffi, lib
from cfgbench.access import ecam, pio
from cfgbench.access.base import ConfigAccessor
from cfgbench.address import TYPE1_ADDRESS_PORT, type1_data_port

from devicepaths import WILD, device_opens, opens, violations
from disasm import OBJDUMP, device_accesses, disassemble

SRC = Path(cfgbench.__file__).parent
NATIVE = SRC / "_native"
C_SOURCES = sorted([*NATIVE.glob("*.c"), *NATIVE.glob("*.h")])
ACCESS_MODULES = sorted((SRC / "access").glob("*.py"))
WRITE_WORDS = re.compile(r"write|poke|store|^_*out[bwl]?(_|$)", re.IGNORECASE)


def c_code(path: Path) -> str:
    """The C source without comments (they may name instructions freely)."""
    text = re.sub(r"/\*.*?\*/", " ", path.read_text(), flags=re.DOTALL)
    return re.sub(r"//[^\n]*", " ", text)


def asm_templates(code: str) -> list[str]:
    return re.findall(r"__asm__\s*(?:volatile|__volatile__)?\s*\(\s*\"([^\"]*)\"", code)


def instructions(template: str) -> list[str]:
    return [part.split()[0] for part in re.split(r"[;\n]|\\n|\\t", template) if part.strip()]


def python_code_strings(path: Path) -> list[str]:
    """String constants of a module, docstrings excluded."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


def calls(path: Path, name: str) -> list[ast.Call]:
    """Calls of `name` or of `something.name` in a module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            func = node.func
            if (isinstance(func, ast.Name) and func.id == name) or (isinstance(func, ast.Attribute) and func.attr == name):
                found.append(node)
    return found


# --------------------------------------------------------------------------- native code: ports


def test_the_native_sources_are_there() -> None:
    assert {p.name for p in C_SOURCES} >= {"loops.c", "loops.h"}


def test_the_only_port_output_instruction_is_one_outl() -> None:
    outputs = [
        (path.name, insn)
        for path in C_SOURCES
        for template in asm_templates(c_code(path))
        for insn in instructions(template)
        if insn.startswith("out") or insn in ("rep", "repz", "repnz")
    ]
    assert outputs == [("loops.c", "outl")]


def test_outl_is_only_ever_given_the_address_port() -> None:
    code = c_code(NATIVE / "loops.c")
    # The one function holding the outl, and every call of it.
    assert re.findall(r"static inline void (\w+)\([^)]*\)\s*\{\s*__asm__ volatile\(\"outl", code) == ["port_out32"]
    arguments = re.findall(r"(?<!void )\bport_out32\s*\(\s*([^,]+),", code)
    assert arguments, "no call of port_out32 found: the scan is out of date"
    assert {a.strip().upper() for a in arguments} == {hex(TYPE1_ADDRESS_PORT).upper()}


def test_port_inputs_read_the_data_port_or_the_address_port_as_a_dword() -> None:
    """The split workload reads 0xCF8 back (its address read) as Linux's
    pci_check_type1() does at boot: a dword, never a byte of 0xCF9-0xCFB
    (0xCF9 is the reset control register of Intel chipsets). Every other
    input reads the target's data port, 0xCFC + (offset & 3)."""
    code = c_code(NATIVE / "loops.c")
    assert re.findall(r"static inline uint32_t (\w+)\([^)]*\)\s*\{[^}]*__asm__ volatile\(\"in", code) == ["port_in"]
    inputs = re.findall(r"(?<!uint32_t )\bport_in\s*\(\s*([^,]+),\s*([^)]+)\)", code)
    assert inputs, "no call of port_in found: the scan is out of date"
    for port, width in inputs:
        if port.strip().upper() == hex(TYPE1_ADDRESS_PORT).upper():
            assert width.strip() == "4", f"0xCF8 read {width} wide"
        else:
            assert port.strip() in ("port", "t->pio_data_port"), port
    # Every local `port` is the target's data port.
    assert set(re.findall(r"\bport\s*=\s*([^;]+);", code)) == {"t->pio_data_port"}
    assert ("0xCF8", "4") in {(p.strip(), w.strip()) for p, w in inputs}  # the address read is there


def test_the_data_port_is_only_ever_type1s() -> None:
    """Python gives the native target its data port from type1_data_port()
    alone: 0xCFC to 0xCFF, never the address register or anything else."""
    assignments = [
        node for path in ACCESS_MODULES for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Attribute) and t.attr == "pio_data_port"
                                                 for t in node.targets)
    ]
    assert assignments, "no assignment of pio_data_port found: the scan is out of date"
    assert {ast.unparse(a.value) for a in assignments} == {"type1_data_port(offset)"}
    assert {type1_data_port(offset) for offset in range(256)} == {0xCFC, 0xCFD, 0xCFE, 0xCFF}


def test_no_library_port_output_and_no_port_permission_in_c() -> None:
    for path in C_SOURCES:
        code = c_code(path)
        assert not re.search(r"\bouts?[bwl]?(_p)?\s*\(", code), path  # <sys/io.h> outb() and friends
        assert not re.search(r"\b(ioperm|iopl)\s*\(", code), path


def test_ioperm_asks_for_0xcf8_to_0xcff_only() -> None:
    assert (TYPE1_ADDRESS_PORT, pio.PORT_COUNT) == (0xCF8, 8)
    granted = [c for c in calls(Path(pio.__file__), "ioperm") if len(c.args) == 3 and ast.unparse(c.args[2]) == "1"]
    assert granted, "no ioperm call found: the scan is out of date"
    assert {(ast.unparse(c.args[0]), ast.unparse(c.args[1])) for c in granted} == {("TYPE1_ADDRESS_PORT", "PORT_COUNT")}


# --------------------------------------------------------------------------- native code: memory


def test_device_memory_is_only_reachable_through_const_pointers() -> None:
    """A store through a pointer to const does not compile, so the pointer
    types are the proof: the target and its mem field are const, and nothing
    casts const away (not even through an integer)."""
    header = c_code(NATIVE / "loops.h")
    assert re.search(r"const volatile void \*mem;", header)
    assert "loops.h" in (NATIVE / "build.py").read_text()  # the cdef is the header itself
    for path in C_SOURCES:
        code = c_code(path)
        assert not re.search(r"(?<!const )struct cfg_target\s*\*", code), f"{path}: a non-const cfg_target pointer"
        assert not re.search(r"(?<!const )volatile[ \t]+[\w \t]+\*", code), f"{path}: a writable volatile pointer"
        assert not re.search(r"\(\s*(?!const\b)[A-Za-z_][\w \t]*\*+\s*\)", code), f"{path}: a cast to a writable pointer"
        assert "uintptr_t" not in code, f"{path}: pointer-integer casts could drop const"
        assert not re.search(r"\b(memcpy|memset|memmove|pwrite\w*|write)\s*\(", code), f"{path}: a copy or write call"


GCC = shutil.which("gcc")
STRICT_FLAGS = ["-fsyntax-only", "-std=gnu11", "-Wall", "-Wextra", "-Werror", "-Wcast-qual", "-Wdiscarded-qualifiers"]


@pytest.mark.skipif(GCC is None, reason="gcc is not installed")
def test_the_compiler_agrees_no_const_is_cast_away(tmp_path: Path) -> None:
    assert GCC is not None
    clean = subprocess.run([GCC, *STRICT_FLAGS, str(NATIVE / "loops.c")], check=False, capture_output=True, text=True)
    assert clean.returncode == 0, clean.stderr
    # And the check has teeth: a store through t->mem is rejected.
    store = tmp_path / "store.c"
    store.write_text('#include "loops.h"\nvoid poke(const struct cfg_target *t) { *(volatile unsigned *)t->mem = 1; }\n')
    rejected = subprocess.run([GCC, *STRICT_FLAGS, f"-I{NATIVE}", str(store)], check=False, capture_output=True, text=True)
    assert rejected.returncode != 0 and "const" in rejected.stderr


# --------------------------------------------------------------------------- no write API anywhere


@pytest.mark.parametrize("cls", [ConfigAccessor, *access.METHODS.values()], ids=lambda c: c.__name__)
def test_no_accessor_has_a_write_method(cls: type[ConfigAccessor]) -> None:
    assert [name for name in dir(cls) if WRITE_WORDS.search(name)] == []


def test_the_native_library_exports_no_write() -> None:
    exported = [name for name in dir(lib) if not name.startswith("CFG_KIND_")]
    assert exported and all(name.startswith("cfg_") for name in exported)
    assert [name for name in exported if WRITE_WORDS.search(name.removeprefix("cfg_"))] == []


# --------------------------------------------------------------------------- device files opened read-only


def copy_of_the_sources(directory: Path) -> Path:
    """src/cfgbench as text, to plant a module in (never in src/ itself)."""
    copy = directory / "cfgbench"
    shutil.copytree(SRC, copy, ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.c", "*.h"))
    return copy


def test_the_scan_sees_every_device_open_of_the_sources() -> None:
    """However the path is built: /dev/mem from a parameter's default, the
    sysfs config files from the accessor's root (pci.sysfs_devices(), through
    config_path() and a local variable), /dev/kmsg through a module constant. (Pinned, so a scan
    that stops seeing them fails here instead of passing with nothing to check.)"""
    found = [(o.module, o.paths) for o in device_opens(SRC)]
    assert ("access/ecam.py", frozenset({"/dev/mem"})) in found
    config = f"/sys/bus/pci/devices/{WILD}/config"
    assert [module for module, paths in found if config in paths] == ["access/sysfs.py", "access/sysfs.py"]
    assert ("kernelpath.py", frozenset({"/dev/kmsg"})) in found


def test_no_device_file_is_opened_for_writing_and_only_the_ecam_accessor_opens_dev_mem() -> None:
    """Every open of a path under /dev, /sys or /proc is read-only; /dev/mem is
    opened by access/ecam.py alone; /dev/port by nothing (byte-wide only: a
    4-byte access to 0xCF8 through it is wrong)."""
    assert violations(SRC) == []
    naming_dev_port = [str(p.relative_to(SRC)) for p in SRC.rglob("*.py")
                       if any("/dev/port" in text for text in python_code_strings(p))]
    assert naming_dev_port == []


# Modules that break the rules, each hiding the path another way. The first is
# issue 19's: /dev/mem opened through a variable built from pieces.
PLANTED = {
    "through-a-variable": ({"peek.py": """
import os
DEVICE = "/dev/" + "mem"
def peek(offset):
    fd = os.open(DEVICE, os.O_RDONLY)
    return os.pread(fd, 4, offset)
"""}, "opens /dev/mem outside access/ecam.py: peek.py:4"),
    "through-a-parameter-and-os-path-join": ({"peek.py": """
import os.path
def device(name):
    return os.path.join("/dev", name)
def peek():
    with open(device("mem"), "rb") as memory:
        return memory.read(4)
"""}, "opens /dev/mem outside access/ecam.py: peek.py:5"),
    "through-an-attribute-and-path-division": ({"peek.py": """
from pathlib import Path
class Peek:
    def __init__(self, where=Path("/dev") / "port"):
        self.where = where
    def peek(self):
        return self.where.read_bytes()
"""}, "opens /dev/port: peek.py:6"),
    "through-another-module-and-an-f-string": ({"places.py": 'BASE = "/dev"\n', "peek.py": """
from cfgbench.places import BASE
def peek():
    return open(f"{BASE}/mem", "rb").read(4)
"""}, "opens /dev/mem outside access/ecam.py: peek.py:3"),
    "through-percent-formatting": ({"peek.py": """
def peek():
    return open("%s/%s" % ("/dev", "mem"), "rb").read(4)
"""}, "opens /dev/mem outside access/ecam.py: peek.py:2"),
    "through-str-join": ({"peek.py": """
def peek():
    return open("/".join(["", "dev", "mem"]), "rb").read(4)
"""}, "opens /dev/mem outside access/ecam.py: peek.py:2"),
    "a-config-file-opened-writable-through-a-flags-variable": ({"poke.py": """
import os
from cfgbench.access.sysfs import config_path
FLAGS = os.O_RDWR
def poke(bdf):
    return os.open(config_path(bdf), FLAGS)
"""}, "opens a device path for writing: poke.py:5"),
    "a-config-file-opened-for-appending": ({"poke.py": """
from cfgbench.pci import SYSFS_DEVICES
def poke(name):
    with (SYSFS_DEVICES / name / "config").open("ab") as config:
        config.write(b"x")
"""}, "opens a device path for writing: poke.py:3"),
}


@pytest.mark.parametrize("plant", PLANTED, ids=str)
def test_a_planted_module_breaks_the_rules_and_the_scan_says_where(tmp_path: Path, plant: str) -> None:
    """The check above, on a copy of the sources with one module added."""
    modules, expected = PLANTED[plant]
    copy = copy_of_the_sources(tmp_path)
    for name, text in modules.items():
        (copy / name).write_text(text.lstrip("\n"))
    found = violations(copy)
    assert [line for line in found if line.startswith(expected)], found


@pytest.mark.parametrize("module", ACCESS_MODULES, ids=lambda p: p.name)
def test_accessors_open_everything_read_only_and_write_nothing(module: Path) -> None:
    for opened in opens(SRC):
        if opened.module == f"access/{module.name}":
            assert not opened.writes, str(opened)
    for name in ("write_bytes", "write_text", "pwrite", "write", "fdopen"):
        assert calls(module, name) == [], f"{module.name} calls {name}"


def test_python_maps_nothing_itself() -> None:
    """The one mapping is native (cfg_map_config, checked below): no module calls mmap."""
    assert [str(path.relative_to(SRC)) for path in SRC.rglob("*.py") if calls(path, "mmap")] == []


# Run as a separate Python with an audit hook: every file the commands open,
# with its flags. The raw methods are refused by CFGBENCH_FORBID_RAW, inherited.
TRACE = """
import json, os, sys
opened = []

def record(event, args):
    if event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        opened.append([os.path.abspath(os.fsdecode(args[0])), args[2]])

sys.addaudithook(record)
from cfgbench.cli import main
exits = []
for argv in json.loads(sys.argv[1]):
    try:
        main.main(argv, prog_name="cfgbench")
    except SystemExit as exit:
        exits.append(exit.code)
with open(sys.argv[2], "w") as out:
    json.dump({"opened": opened, "exits": exits}, out)
"""
TRACED_COMMANDS = [
    ["info"], ["list"], ["read", "00:00.0", "0"], ["read", "-m", "kernel", "00:00.0", "0x100"],
    ["run", "-m", "kernel", "--workload", "split", "--in-process", "--loops", "64", "--values", "1", "--warmups", "0",
     "--samples", "16", "-q"],
    ["read", "-m", "pio", "00:00.0", "0"], ["read", "-m", "mmio", "00:00.0", "0"],
]


@pytest.mark.skipif(not Path("/sys/bus/pci/devices/0000:00:00.0").exists(), reason="no 0000:00:00.0 in sysfs here")
def test_what_the_commands_open_at_run_time_is_read_only(tmp_path: Path) -> None:
    """The same rules at run time, whatever builds the paths: every file the
    commands open under /dev, /sys or /proc is opened without a write flag,
    /dev/mem and /dev/port are never opened, and the config files the kernel
    method reads are among the opens (the trace has something to check)."""
    out = tmp_path / "trace.json"
    done = subprocess.run([sys.executable, "-c", TRACE, json.dumps(TRACED_COMMANDS), str(out)], capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    trace = json.loads(out.read_text())
    assert trace["exits"] == [0, 0, 0, 0, 0, 2, 2], done.stderr  # pio and mmio refused here
    # /dev/null is a child's stdin (subprocess.DEVNULL opens it read-write): no device behind it.
    devices = [(path, flags) for path, flags in trace["opened"]
               if path.startswith(("/dev/", "/sys/", "/proc/")) and path != os.devnull]
    write = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
    assert [(path, flags) for path, flags in devices if flags & write] == []
    assert not {path for path, _ in devices} & {"/dev/mem", "/dev/port"}
    assert "/sys/bus/pci/devices/0000:00:00.0/config" in {path for path, _ in devices}


def test_dev_mem_is_mapped_read_only_in_pages_up_to_one_segment() -> None:
    """The only mapping is native: one mmap call, PROT_READ, MAP_SHARED, of a
    length the same function has checked to be whole 4 KiB pages and at most
    256 MiB (one segment's 256 buses); nothing makes it writable; Python maps
    nothing itself."""
    code = c_code(NATIVE / "loops.c")
    mappings = re.findall(r"\bmmap\s*\(([^;]*)\);", code)
    assert len(mappings) == 1
    arguments = [a.strip() for a in mappings[0].split(",")]
    assert arguments[1:4] == ["(size_t)length", "PROT_READ", "MAP_SHARED"]
    mapper = re.search(r"int cfg_map_config\(int fd, uint64_t physical, uint64_t length, void \*\*mapping\)\s*\{(.*?)\n\}", code, re.DOTALL)
    assert mapper and "mmap" in mapper[1], "the mmap call moved out of cfg_map_config: the check is out of date"
    checks = mapper[1].split("mmap")[0]
    for rule in ("physical % CFG_PAGE", "length == 0", "length % CFG_PAGE", "length > CFG_MAX_MAP"):
        assert rule in checks, rule
    assert re.search(r"#define CFG_PAGE 4096\b", code)
    assert re.search(r"#define CFG_MAX_MAP \(256u << 20\)", code)
    assert "PROT_WRITE" not in code and "mprotect" not in code


def test_the_ecam_accessor_maps_only_pages_and_bus_ranges_of_its_windows() -> None:
    """Every cfg_map_config call in the accessor goes through one method, given
    either one function's page (PAGE_BYTES) or whole buses of a window."""
    source = Path(ecam.__file__)
    native_calls = calls(source, "cfg_map_config")
    assert len(native_calls) == 1
    mappers = [ast.unparse(c) for c in calls(source, "_map")]
    assert len(mappers) == 2
    assert any("PAGE_BYTES" in m and "function_address" not in m for m in mappers)
    assert any("BUS_SHIFT" in m for m in mappers)
    assert ecam.PAGE_BYTES == 4096


X86_64 = lib.cfg_have_x86() and ffi.sizeof("void *") == 8
BUILT_LIBRARY = Path(_loops.__file__)  # the module the tests import, not a fresh build
EAX_FAMILY = {"%eax", "%ax", "%al"}


@pytest.mark.skipif(OBJDUMP is None or not X86_64, reason="needs objdump and an x86-64 build")
def test_the_built_code_outputs_dwords_only_and_names_no_port_in_an_instruction() -> None:
    """In the built binary, with the split workload's kinds: every port
    output is `out %eax,(%dx)` (a dword, outl), every input `in (%dx)` into
    %eax, %ax or %al; no string I/O, no port given as an immediate (which
    would reach ports 0x00-0xFF); and the only port number loaded is 0xCF8
    (the data port comes from the target)."""
    code = disassemble(BUILT_LIBRARY)
    insns = [i for function in code.values() for i in function]
    outputs = [i for i in insns if i.mnemonic.startswith("out")]
    inputs = [i for i in insns if i.mnemonic in ("in", "inb", "inw", "inl")]
    assert outputs and inputs, "no port access found: the scan is out of date"
    assert {i.operands for i in outputs} == {("%eax", "(%dx)")}
    assert {i.operands[0] for i in inputs} == {"(%dx)"}
    assert {i.operands[1] for i in inputs} == EAX_FAMILY  # inb, inw, inl: the three widths
    assert not [i for i in insns if i.mnemonic.startswith(("ins", "outs"))]
    port_constants = {i.operands[0] for i in insns if i.mnemonic.startswith("mov") and len(i.operands) == 2
                      and i.operands[1] in ("%edx", "%dx") and i.operands[0] in {"$0xcf8", "$0xcfc", "$0xcfd",
                                                                               "$0xcfe", "$0xcff"}}
    assert port_constants == {"$0xcf8"}


@pytest.mark.skipif(OBJDUMP is None or not X86_64, reason="needs objdump and an x86-64 build")
@pytest.mark.parametrize("function", ["cfg_time_loop", "cfg_time_many", "cfg_sample_loop", "cfg_read_once"])
def test_device_memory_is_loaded_through_eax_only(function: str) -> None:
    """Linux reads MMCONFIG space with `mov (%reg),%eax/%ax/%al` only
    (mmio_config_read[bwl], arch/x86/include/asm/pci_x86.h): AMD family 10h
    processors mishandle MMCONFIG accesses through other registers. Every
    instruction of the built loops that may touch memory through a pointer
    taken from cfg_target.mem must be such a load, for each width."""
    code = disassemble(BUILT_LIBRARY)[function]
    accesses = device_accesses(code, ffi.offsetof("struct cfg_target", "mem"))
    wrong = [f"{i.address:#x}: {i.mnemonic} {','.join(i.operands)}" for i in accesses
             if i.mnemonic not in ("mov", "movb", "movw", "movl") or i.operands[-1] not in EAX_FAMILY
             or not re.fullmatch(r"\(%r\w+\)", i.operands[0])]
    assert wrong == []
    assert {i.operands[-1] for i in accesses} == EAX_FAMILY  # one load per width: the scan finds them
