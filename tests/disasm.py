"""The built native module's machine code, read with objdump, for the tests
that check what the compiler made of loops.c: functions, control flow, the
loops, and which registers may hold a pointer into device memory. x86-64,
AT&T syntax, as GNU objdump prints it; nothing here runs the code."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

OBJDUMP = shutil.which("objdump")
_FUNCTION = re.compile(r"^[0-9a-f]+ <(?P<name>[\w.@]+)>:$")
_INSN = re.compile(r"^\s*(?P<address>[0-9a-f]+):\s+(?P<mnemonic>\S+)\s*(?P<operands>[^#<]*)(?:<(?P<symbol>[^>]*)>)?")


@dataclass(frozen=True)
class Insn:
    address: int
    end: int  # address of the next instruction
    mnemonic: str
    operands: tuple[str, ...]

    @property
    def branch_target(self) -> int | None:
        if self.mnemonic.startswith("j") and self.operands and re.fullmatch(r"[0-9a-f]+", self.operands[0]):
            return int(self.operands[0], 16)
        return None

    @property
    def ends_flow(self) -> bool:
        """No fall-through to the next instruction."""
        return self.mnemonic in ("jmp", "ret", "ud2") or self.mnemonic.startswith(("jmp", "ret"))


def split_operands(text: str) -> tuple[str, ...]:
    parts, depth, current = [], 0, ""
    for char in text.strip():
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    if current.strip():
        parts.append(current.strip())
    return tuple(parts)


def disassemble(library: Path) -> dict[str, list[Insn]]:
    assert OBJDUMP is not None
    text = subprocess.run([OBJDUMP, "-d", "--no-show-raw-insn", str(library)], check=True, capture_output=True, text=True).stdout
    functions: dict[str, list[Insn]] = {}
    name = None
    rows: list[tuple[int, str, tuple[str, ...]]] = []

    def flush() -> None:
        if name is not None:
            functions[name] = [Insn(a, rows[i + 1][0] if i + 1 < len(rows) else a + 1, m, o) for i, (a, m, o) in enumerate(rows)]

    for line in text.splitlines():
        if match := _FUNCTION.match(line):
            flush()
            name, rows = match["name"], []
        elif (match := _INSN.match(line)) and name is not None:
            rows.append((int(match["address"], 16), match["mnemonic"], split_operands(match["operands"])))
    flush()
    return functions


def successors(insns: list[Insn], index: int) -> Iterator[int]:
    """Indexes of the instructions control can reach next (inside the function)."""
    by_address = {insn.address: i for i, insn in enumerate(insns)}
    insn = insns[index]
    target = insn.branch_target
    if target is not None and target in by_address:
        yield by_address[target]
    if not insn.ends_flow and index + 1 < len(insns):
        yield index + 1


def loops(insns: list[Insn]) -> list[tuple[int, int]]:
    """(head, end) of every compact loop: a backward branch to `head` that the
    code from `head` reaches again without leaving [head, end), where `end`
    is the address after the branch. These are the loops whose every
    iteration runs straight through that range (a timed loop's hot path);
    a jump back from an out-of-line slow path is not one."""
    by_address = {insn.address: i for i, insn in enumerate(insns)}
    found = []
    for i, insn in enumerate(insns):
        target = insn.branch_target
        if target is None or target > insn.address or target not in by_address:
            continue
        first = by_address[target]
        seen, todo = set(), [first]
        while todo:
            j = todo.pop()
            if j in seen or not first <= j <= i:
                continue
            seen.add(j)
            todo.extend(k for k in successors(insns, j) if not (j == i and k == first))
        if i in seen:
            found.append((target, insn.end))
    return found


# --------------------------------------------------------------------------- registers

_GPR = ("ax", "bx", "cx", "dx", "si", "di", "bp", "sp")
_FULL = {**{f"%r{n}": f"%r{n}" for n in _GPR}, **{f"%e{n}": f"%r{n}" for n in _GPR}, **{f"%{n}": f"%r{n}" for n in _GPR}}
_FULL.update({"%al": "%rax", "%bl": "%rbx", "%cl": "%rcx", "%dl": "%rdx", "%sil": "%rsi", "%dil": "%rdi", "%bpl": "%rbp", "%spl": "%rsp",
              "%ah": "%rax", "%bh": "%rbx", "%ch": "%rcx", "%dh": "%rdx"})
_FULL.update({f"%r{i}{suffix}": f"%r{i}" for i in range(8, 16) for suffix in ("", "d", "w", "b")})
CALLER_SAVED = {"%rax", "%rcx", "%rdx", "%rsi", "%rdi", "%r8", "%r9", "%r10", "%r11"}
# Instructions whose last operand is read, not written.
_NO_WRITE = ("cmp", "test", "bt", "push", "out", "nop", "ud2", "ret", "call", "jmp", "lfence", "mfence", "sfence", "rdtsc")
_MEMORY = re.compile(r"^(?P<disp>-?0x[0-9a-f]+|-?\d+)?\((?P<base>%\w+)?(?:,(?P<index>%\w+)(?:,\d)?)?\)$")


def full_register(operand: str) -> str | None:
    return _FULL.get(operand)


def memory_operand(operand: str) -> tuple[int, str | None, str | None] | None:
    """(displacement, base, index) of a memory operand, else None."""
    match = _MEMORY.match(operand)
    if not match:
        return None
    disp = match["disp"] or "0"
    return int(disp, 0), match["base"] and full_register(match["base"]), match["index"] and full_register(match["index"])


def _pointer_source(insn: Insn, held: set[str], pointer_field: int) -> bool:
    """Whether insn's 64-bit result may be a device pointer."""
    source, destination = insn.operands
    mnemonic = insn.mnemonic.removesuffix("q")
    memory = memory_operand(source)
    if mnemonic == "mov" and full_register(source) == source:
        return source in held  # a copy
    if mnemonic == "mov" and memory:
        disp, base, _ = memory
        if base == "%rsp":
            return f"stack{disp:+d}" in held  # a reload of a spill
        return base is not None and disp == pointer_field  # t->mem
    if mnemonic == "lea" and memory:
        return bool({memory[1], memory[2]} & held)  # pointer arithmetic
    if mnemonic in ("add", "sub"):
        return destination in held and full_register(source) not in held  # pointer plus an offset
    return False


def _transfer(insn: Insn, state: frozenset[str], pointer_field: int) -> frozenset[str]:
    """Which registers and stack slots may hold a device pointer after insn."""
    held = set(state)
    ops, mnemonic = insn.operands, insn.mnemonic
    if mnemonic.startswith("call"):
        return frozenset(held - CALLER_SAVED)
    if mnemonic.startswith(_NO_WRITE) or mnemonic.startswith("j") or not ops:
        return state
    destination = ops[-1]
    target = full_register(destination)
    if mnemonic.startswith("xchg") and len(ops) == 2 and full_register(ops[0]) and target:
        first = full_register(ops[0])
        swapped = {first: target in held, target: first in held}
        for register, is_pointer in swapped.items():
            held.discard(register)  # type: ignore[arg-type]
            if is_pointer:
                held.add(register)  # type: ignore[arg-type]
        return frozenset(held)
    if target is None:
        slot = memory_operand(destination)
        if slot and slot[1] == "%rsp" and len(ops) == 2:  # a store to the stack: a spill, maybe
            key = f"stack{slot[0]:+d}"
            held.discard(key)
            if insn.mnemonic.removesuffix("q") == "mov" and full_register(ops[0]) == ops[0] and ops[0] in held:
                held.add(key)
        return frozenset(held)
    is_pointer = len(ops) == 2 and target == destination and _pointer_source(insn, held, pointer_field)
    held.discard(target)
    if is_pointer:
        held.add(target)
    return frozenset(held)


def device_accesses(insns: list[Insn], pointer_field: int) -> list[Insn]:
    """Every instruction that may touch memory through a pointer loaded from
    the `mem` field of a struct cfg_target (at offset pointer_field), found
    by a may-dataflow over the control flow: copies, spills to the stack and
    pointer arithmetic keep the mark, any other write to a register and a
    call (for caller-saved registers) drop it."""
    states: dict[int, frozenset[str]] = {0: frozenset()}
    todo = [0]
    while todo:
        i = todo.pop()
        after = _transfer(insns[i], states[i], pointer_field)
        for j in successors(insns, i):
            merged = states.get(j, frozenset()) | after
            if j not in states or merged != states[j]:
                states[j] = merged
                todo.append(j)
    found = []
    for i, insn in enumerate(insns):
        if i not in states or insn.mnemonic.startswith(("nop", "lea")):
            continue
        for operand in insn.operands:
            memory = memory_operand(operand)
            if memory and ({memory[1], memory[2]} & states[i]):
                found.append(insn)
                break
    return found
