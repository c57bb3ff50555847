"""Which calls in a source tree may open a device file, however its path is built.

A small value-flow pass over the AST, nothing run: the path of every opener
(open, io.open, os.open, Path.open, read_bytes, write_text, ...) is evaluated
to the set of strings it may hold. It follows names (local, module-level,
imported from another module of the tree), `self.` attributes, function
parameters (their defaults and the arguments of every call in the tree), the
values functions return, string concatenation, f-strings, `%` and `.format`,
`Path(...)`, `/`, `os.path.join`, `joinpath`, `str()` and `os.environ.get`'s
default. What cannot be known is a wildcard; a path whose known start puts it
under /dev, /sys or /proc is a device path (a wholly unknown one, such as a
result file the user names, is not). Whether an opener writes is decided the
same way, from its mode or its flags."""

from __future__ import annotations

import ast
import functools
import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

WILD = "\x00"  # an unknown part of a string
ANY: frozenset[str] = frozenset({WILD})
MAX_VALUES = 64  # beyond this many strings an expression is taken as unknown
DEVICE_ROOTS = ("/dev/", "/sys/", "/proc/")
WRITE_FLAGS = {"O_RDWR", "O_WRONLY", "O_CREAT", "O_TRUNC", "O_APPEND"}
PATH_TYPES = {"Path", "PurePath", "PosixPath", "PurePosixPath"}
# Methods of a path object that open it: whether each writes.
PATH_OPENERS = {"read_bytes": False, "read_text": False, "write_bytes": True, "write_text": True}
SAME_PATH = {"resolve", "absolute", "expanduser"}  # methods that return the same file


@dataclass(frozen=True)
class Open:
    """One call that opens a file by name."""

    module: str  # relative to the tree, e.g. "access/ecam.py"
    line: int
    source: str
    paths: frozenset[str]  # what its path may be, WILD for unknown parts
    writes: bool  # may open for writing (or the mode cannot be known)

    def may_be(self, path: str) -> bool:
        """Whether it may open `path` (a wholly unknown path is one someone gave, not a device)."""
        return any(is_device(pattern) and matches(pattern, path) for pattern in self.paths)

    @property
    def device(self) -> bool:
        return any(is_device(pattern) for pattern in self.paths)

    def __str__(self) -> str:
        shown = sorted(p.replace(WILD, "*") for p in self.paths)
        return f"{self.module}:{self.line}: {self.source} (path {', '.join(shown)})"


def matches(pattern: str, path: str) -> bool:
    regex = ".*".join(re.escape(part) for part in pattern.split(WILD))
    return re.fullmatch(regex, path, re.DOTALL) is not None


def is_device(pattern: str) -> bool:
    """Whether the pattern may name something under /dev, /sys or /proc."""
    known = pattern.split(WILD)[0]
    if known.startswith(DEVICE_ROOTS):
        return True
    # "/" + something unknown may still be a device path; "" + unknown is a path someone gave.
    return bool(known) and WILD in pattern and any(root.startswith(known) for root in DEVICE_ROOTS)


def _product(parts: list[frozenset[str]], join: str = "") -> frozenset[str]:
    size = 1
    for part in parts:
        size *= len(part)
    if size > MAX_VALUES:
        return ANY
    return frozenset(join.join(combo) for combo in itertools.product(*parts))


def _path_join(parts: list[frozenset[str]]) -> frozenset[str]:
    """Path(a, b) and a / b: an absolute right side replaces the left."""
    values: frozenset[str] = frozenset({""})
    for part in parts:
        joined = set()
        for left, right in itertools.product(values, part):
            if right.startswith("/") or not left:
                joined.add(right)
            else:
                joined.add(left.rstrip("/") + "/" + right)
        values = frozenset(joined) if len(joined) <= MAX_VALUES else ANY
    return values


@dataclass
class _Module:
    name: str  # dotted: cfgbench.access.ecam
    relative: str
    tree: ast.Module
    assigned: dict[str, list[ast.expr]] = field(default_factory=dict)  # module-level names
    imported: dict[str, tuple[str, str]] = field(default_factory=dict)  # local name -> (module, name or "")
    functions: dict[str, ast.FunctionDef] = field(default_factory=dict)  # module-level
    methods: dict[str, list[ast.FunctionDef]] = field(default_factory=dict)  # by name, any class
    classes: dict[str, ast.ClassDef] = field(default_factory=dict)
    nodes: list[ast.AST] = field(default_factory=list)
    parents: dict[int, ast.AST] = field(default_factory=dict)
    calls: dict[str, list[ast.Call]] = field(default_factory=dict)  # by the name they call: f(...), x.f(...)
    attributes: dict[str, list[ast.expr]] = field(default_factory=dict)  # self.X = ..., class-level X = ...


def _targets(target: ast.expr) -> Iterator[tuple[str, bool]]:
    """(name, whether the whole value goes to it) for an assignment target."""
    if isinstance(target, ast.Name):
        yield target.id, True
    elif isinstance(target, (ast.Tuple, ast.List)):
        for element in target.elts:
            for name, _ in _targets(element):
                yield name, False
    elif isinstance(target, ast.Starred):
        yield from ((name, False) for name, _ in _targets(target.value))


def _module_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements run at import: the body, and what if/try/with blocks at that level hold."""
    for statement in body:
        yield statement
        if isinstance(statement, (ast.If, ast.Try, ast.With)):
            for block in ("body", "orelse", "finalbody", "handlers"):
                for inner in getattr(statement, block, []):
                    yield from _module_level(inner.body if isinstance(inner, ast.ExceptHandler) else [inner])


@functools.lru_cache(maxsize=512)
def _load(dotted: str, relative: str, text: str) -> _Module:
    """One module parsed and indexed; the same text is parsed once per session
    (a copy of the sources with one module planted parses only that one)."""
    module = _Module(dotted, relative, ast.parse(text, relative))
    stack: list[ast.AST] = [module.tree]
    while stack:  # one pass: every node, its parent, the calls by the name they call
        node = stack.pop()
        module.nodes.append(node)
        for child in ast.iter_child_nodes(node):
            module.parents[id(child)] = node
            stack.append(child)
        if isinstance(node, ast.Call):
            callee = node.func
            name = callee.id if isinstance(callee, ast.Name) else callee.attr if isinstance(callee, ast.Attribute) else ""
            module.calls.setdefault(name, []).append(node)
    package = dotted if relative.endswith("__init__.py") else dotted.rpartition(".")[0]
    for statement in module.nodes:
        if isinstance(statement, ast.ImportFrom):
            base = statement.module or ""
            if statement.level:
                parts = package.split(".")
                base = ".".join([*parts[: len(parts) - statement.level + 1], base]).strip(".")
            for alias in statement.names:
                module.imported[alias.asname or alias.name] = (base, alias.name)
        elif isinstance(statement, ast.Import):
            for alias in statement.names:
                top = alias.name.split(".")[0]
                module.imported[alias.asname or top] = (alias.name if alias.asname else top, "")
        elif isinstance(statement, ast.ClassDef):
            module.classes[statement.name] = statement
            for item in statement.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    module.methods.setdefault(item.name, []).append(item)  # type: ignore[arg-type]
                elif isinstance(item, (ast.Assign, ast.AnnAssign)) and item.value is not None:
                    for target in item.targets if isinstance(item, ast.Assign) else [item.target]:
                        if isinstance(target, ast.Name):
                            module.attributes.setdefault(target.id, []).append(item.value)
        elif isinstance(statement, (ast.Assign, ast.AnnAssign)) and statement.value is not None:
            for target in statement.targets if isinstance(statement, ast.Assign) else [statement.target]:
                if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) \
                        and target.value.id in ("self", "cls"):
                    module.attributes.setdefault(target.attr, []).append(statement.value)
    for statement in _module_level(module.tree.body):
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            module.functions[statement.name] = statement  # type: ignore[assignment]
        elif isinstance(statement, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and statement.value is not None:
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            for target in targets:
                for name, whole in _targets(target):
                    module.assigned.setdefault(name, []).append(statement.value if whole else ast.Name("?"))
    return module


class Tree:
    """A package's modules, indexed for the value flow."""

    def __init__(self, root: Path, package: str) -> None:
        self.modules: dict[str, _Module] = {}
        self.parents: dict[int, ast.AST] = {}
        self.module_of: dict[int, _Module] = {}
        self.calls: dict[str, list[ast.Call]] = {}  # where a parameter's arguments come from
        for path in sorted(root.rglob("*.py")):
            relative = path.relative_to(root)
            dotted = ".".join((package, *relative.with_suffix("").parts)).removesuffix(".__init__")
            module = _load(dotted, str(relative), path.read_text())
            self.modules[dotted] = module
            self.parents.update(module.parents)
            self.module_of.update(dict.fromkeys(map(id, module.nodes), module))
            for name, found in module.calls.items():
                self.calls.setdefault(name, []).extend(found)
        self._memo: dict[int, frozenset[str]] = {}
        self._busy: set[int] = set()

    # --- the value flow --------------------------------------------------------

    def _enclosing_functions(self, node: ast.AST) -> list[ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda]:
        found = []
        parent = self.parents.get(id(node))
        while parent is not None:
            if isinstance(parent, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                found.append(parent)
            parent = self.parents.get(id(parent))
        return found

    # --- the value flow --------------------------------------------------------

    def values(self, node: ast.expr) -> frozenset[str]:
        """The strings an expression may hold (WILD for unknown parts)."""
        key = id(node)
        if key in self._memo:
            return self._memo[key]
        if key in self._busy:
            return ANY  # a cycle: what it adds is unknown
        self._busy.add(key)
        try:
            result = self._evaluate(node)
        finally:
            self._busy.discard(key)
        if len(result) > MAX_VALUES:
            result = ANY
        self._memo[key] = result
        return result

    def _union(self, nodes: Iterable[ast.expr]) -> frozenset[str]:
        result: set[str] = set()
        for node in nodes:
            result |= self.values(node)
        return frozenset(result) if result else ANY

    def _evaluate(self, node: ast.expr) -> frozenset[str]:
        if isinstance(node, ast.Constant):
            return frozenset({node.value}) if isinstance(node.value, str) else ANY
        if isinstance(node, ast.JoinedStr):
            return _product([self.values(v.value) if isinstance(v, ast.FormattedValue) else self.values(v)
                             for v in node.values])
        if isinstance(node, ast.BinOp):
            left, right = self.values(node.left), self.values(node.right)
            if isinstance(node.op, ast.Add):
                return _product([left, right])
            if isinstance(node.op, ast.Div):
                return _path_join([left, right])
            if isinstance(node.op, ast.Mod):
                return self._percent(left, node.right)
            return ANY
        if isinstance(node, ast.IfExp):
            return self._union([node.body, node.orelse])
        if isinstance(node, ast.BoolOp):
            return self._union(node.values)
        if isinstance(node, ast.NamedExpr):
            return self.values(node.value)
        if isinstance(node, ast.Name):
            return self._name(node)
        if isinstance(node, ast.Attribute):
            return self._attribute(node)
        if isinstance(node, ast.Call):
            return self._call(node)
        return ANY

    def _percent(self, templates: frozenset[str], right: ast.expr) -> frozenset[str]:
        """`template % args`, each conversion filled in with what its argument may be."""
        conversion = re.compile(r"%[-#0 +]*\d*(?:\.\d+)?[sdirxXfgeo]")
        items = right.elts if isinstance(right, ast.Tuple) else [right]
        filled: set[str] = set()
        for template in templates:
            pieces = conversion.split(template)
            if len(pieces) - 1 != len(items):
                filled.add(conversion.sub(WILD, template))
                continue
            arguments = [self.values(item) for item in items]
            for combo in itertools.islice(itertools.product(*arguments), MAX_VALUES + 1):
                filled.add("".join(p + a for p, a in zip(pieces, [*combo, ""], strict=True)))
        return frozenset(filled) if len(filled) <= MAX_VALUES else ANY

    def _elements(self, node: ast.expr) -> frozenset[str]:
        """What iterating over an expression yields: a directory's entries, a literal's items."""
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("sorted", "list") \
                and node.args:
            return self._elements(node.args[0])
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in ("iterdir", "glob", "rglob"):
            return _path_join([self.values(node.func.value), ANY])
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            return self._union(node.elts)
        return ANY

    def _name(self, node: ast.Name) -> frozenset[str]:
        if node.id == "?":
            return ANY
        for function in self._enclosing_functions(node):
            found = self._local(function, node.id)
            if found is not None:
                return found
        return self._global(self.module_of[id(node)], node.id)

    def _local(self, function: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda, name: str) -> frozenset[str] | None:
        """The values a name takes inside one function, or None if it is not its own."""
        exprs: list[ast.expr] = []
        elements: list[ast.expr] = []  # iterated over: the name takes their elements
        unknown = False
        body = function.body if isinstance(function.body, list) else [function.body]
        for statement in body:
            for node in ast.walk(statement):
                if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and node.value is not None:
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    for target in targets:
                        for target_name, whole in _targets(target):
                            if target_name == name:
                                if whole and not isinstance(node, ast.AugAssign):
                                    exprs.append(node.value)
                                else:
                                    unknown = True
                elif isinstance(node, ast.NamedExpr) and node.target.id == name:
                    exprs.append(node.value)
                elif isinstance(node, (ast.For, ast.comprehension)) and name in {n for n, _ in _targets(node.target)}:
                    if isinstance(node.target, ast.Name):
                        elements.append(node.iter)
                    else:
                        unknown = True
                elif isinstance(node, ast.withitem) and node.optional_vars is not None \
                        and name in {n for n, _ in _targets(node.optional_vars)}:
                    unknown = True
        parameter = self._parameter(function, name)
        if not exprs and not elements and not unknown and parameter is None:
            return None
        values = set(self._union(exprs)) if exprs else set()
        for iterable in elements:
            values |= self._elements(iterable)
        if unknown:
            values.add(WILD)
        if parameter is not None:
            values |= parameter
        return frozenset(values) or ANY

    def _parameter(self, function: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda,
                   name: str) -> frozenset[str] | None:
        """A parameter's values: its default and the arguments of every call of the function."""
        arguments = function.args
        positional = [*arguments.posonlyargs, *arguments.args]
        names = [a.arg for a in positional]
        keyword_only = [a.arg for a in arguments.kwonlyargs]
        if name not in names and name not in keyword_only:
            if (arguments.vararg and arguments.vararg.arg == name) or (arguments.kwarg and arguments.kwarg.arg == name):
                return ANY
            return None
        exprs: list[ast.expr] = []
        if name in names:
            index = names.index(name)
            first_default = len(names) - len(arguments.defaults)
            if index >= first_default:
                exprs.append(arguments.defaults[index - first_default])
        else:
            default = arguments.kw_defaults[keyword_only.index(name)]
            if default is not None:
                exprs.append(default)
        values = set(self._union(exprs)) if exprs else set()
        if isinstance(function, ast.Lambda):
            return frozenset(values | {WILD})
        is_method = bool(names) and names[0] in ("self", "cls")
        calls = list(self._calls_of(function, is_method))
        for call, shift in calls:
            if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
                values.add(WILD)
                continue
            given = [k.value for k in call.keywords if k.arg == name]
            if name in names and names.index(name) - shift < len(call.args) and names.index(name) - shift >= 0:
                given.append(call.args[names.index(name) - shift])
            values |= self._union(given) if given else set()
        if not calls and not exprs:
            values.add(WILD)  # called from outside the tree (a test, click): unknown
        return frozenset(values) or ANY

    def _calls_of(self, function: ast.FunctionDef | ast.AsyncFunctionDef, is_method: bool) -> Iterator[tuple[ast.Call, int]]:
        """Every call in the tree that may reach the function, with how many of
        its parameters the call does not pass (self)."""
        owner = self.module_of[id(function)]
        parent = self.parents.get(id(function))
        class_name = parent.name if isinstance(parent, ast.ClassDef) else None
        names = {function.name, class_name} if class_name and function.name == "__init__" else {function.name}
        for node in (call for name in names for call in self.calls.get(name or "", [])):
            module, callee = self.module_of[id(node)], node.func
            if function.name == "__init__" and isinstance(callee, ast.Attribute):
                if class_name and self._in_subclass_of(node, class_name):  # super().__init__(...)
                    yield node, 1
            elif is_method and isinstance(callee, ast.Attribute) and callee.attr == function.name:
                yield node, 1
            elif class_name and function.name == "__init__" and self._refers_to(module, callee, owner, class_name):
                yield node, 1
            elif not is_method and class_name is None and self._refers_to(module, callee, owner, function.name):
                yield node, 0

    def _in_subclass_of(self, node: ast.AST, base: str) -> bool:
        parent = self.parents.get(id(node))
        while parent is not None and not isinstance(parent, ast.ClassDef):
            parent = self.parents.get(id(parent))
        return parent is not None and base in {ast.unparse(b).rpartition(".")[2] for b in parent.bases}

    def _refers_to(self, module: _Module, callee: ast.expr, owner: _Module, name: str) -> bool:
        if isinstance(callee, ast.Name):
            if module is owner:
                return callee.id == name
            return module.imported.get(callee.id) == (owner.name, name)
        if isinstance(callee, ast.Attribute) and isinstance(callee.value, ast.Name) and callee.attr == name:
            return self._imported_module(module, callee.value.id) is owner
        return False

    def _imported_module(self, module: _Module, local: str) -> _Module | None:
        """The module a local name stands for (`import x.y as z`, `from x import y` of a submodule)."""
        source, attribute = module.imported.get(local, ("", "?"))
        if not attribute:
            return self.modules.get(source)
        return self.modules.get(f"{source}.{attribute}")

    def _global(self, module: _Module, name: str) -> frozenset[str]:
        if name in module.assigned:
            return self._union(module.assigned[name])
        if name in module.imported:
            source, attribute = module.imported[name]
            if attribute and source in self.modules:
                return self._global(self.modules[source], attribute)
        return ANY

    def _attribute(self, node: ast.Attribute) -> frozenset[str]:
        module = self.module_of[id(node)]
        if isinstance(node.value, ast.Name):
            if node.value.id in ("self", "cls") and node.attr in module.attributes:
                return self._union(module.attributes[node.attr])
            other = self._imported_module(module, node.value.id)
            if other is not None:
                return self._global(other, node.attr)
            if node.value.id in module.classes and node.attr in module.attributes:
                return self._union(module.attributes[node.attr])
        return ANY

    def _call(self, node: ast.Call) -> frozenset[str]:
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        dotted = ast.unparse(func)
        if name in PATH_TYPES or dotted == "os.path.join":
            return _path_join([self.values(a) for a in node.args]) if node.args else frozenset({"."})
        if name in ("str", "fspath") and node.args:
            return self.values(node.args[0])
        if dotted in ("os.environ.get", "os.getenv"):
            return ANY | (self.values(node.args[1]) if len(node.args) > 1 else frozenset())
        if isinstance(func, ast.Attribute):
            receiver = func.value
            if func.attr == "joinpath":
                return _path_join([self.values(receiver), *(self.values(a) for a in node.args)])
            if func.attr in SAME_PATH:
                return self.values(receiver)
            if func.attr == "join" and node.args and isinstance(node.args[0], (ast.List, ast.Tuple)):
                joined = _product([self.values(e) for e in node.args[0].elts], "\x01")
                return frozenset(j.replace("\x01", sep) for sep in self.values(receiver) for j in joined)
            if func.attr == "format":
                return frozenset(re.sub(r"\{[^}]*\}", WILD, v) for v in self.values(receiver))
        returned = [r.value for f in self._callees(node) for r in self._returns(f) if r.value is not None]
        return self._union(returned) if returned else ANY

    def _callees(self, node: ast.Call) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
        module = self.module_of[id(node)]
        func = node.func
        if isinstance(func, ast.Name):
            if func.id in module.functions:
                return [module.functions[func.id]]
            source, attribute = module.imported.get(func.id, ("", ""))
            if attribute and source in self.modules and attribute in self.modules[source].functions:
                return [self.modules[source].functions[attribute]]
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            if func.value.id in ("self", "cls"):
                return list(module.methods.get(func.attr, []))
            other = self._imported_module(module, func.value.id)
            if other is not None and func.attr in other.functions:
                return [other.functions[func.attr]]
        return []

    def _returns(self, function: ast.FunctionDef | ast.AsyncFunctionDef) -> Iterator[ast.Return]:
        for node in ast.walk(function):
            if isinstance(node, ast.Return) and self._enclosing_functions(node)[:1] == [function]:
                yield node

    # --- what reaches the modes and flags -----------------------------------------

    def names_reaching(self, node: ast.expr, seen: set[int] | None = None) -> set[str]:
        """Every name and attribute an expression is built from, through the names it uses."""
        seen = set() if seen is None else seen
        if id(node) in seen:
            return set()
        seen.add(id(node))
        found: set[str] = set()
        for inner in ast.walk(node):
            if isinstance(inner, ast.Attribute):
                found.add(inner.attr)
            elif isinstance(inner, ast.Name):
                found.add(inner.id)
                for function in self._enclosing_functions(inner):
                    local = [n.value for n in ast.walk(function) if isinstance(n, ast.Assign) and n.value is not None
                             and any(t == inner.id for target in n.targets for t, _ in _targets(target))]
                    for expr in local:
                        found |= self.names_reaching(expr, seen)
                for expr in self.module_of[id(inner)].assigned.get(inner.id, []):
                    found |= self.names_reaching(expr, seen)
        return found

    # --- the openers ---------------------------------------------------------------

    def opens(self) -> list[Open]:
        found = []
        for module in self.modules.values():
            for calls in module.calls.values():
                for node in calls:
                    opened = self._open(module, node)
                    if opened is not None:
                        found.append(opened)
        return sorted(found, key=lambda o: (o.module, o.line))

    def _open(self, module: _Module, call: ast.Call) -> Open | None:
        func = call.func
        dotted = ast.unparse(func)
        path: ast.expr | None
        if dotted == "os.open" and call.args:
            path = call.args[0]
            flags = call.args[1] if len(call.args) > 1 else next((k.value for k in call.keywords if k.arg == "flags"), None)
            reaching = self.names_reaching(flags) if flags is not None else set()
            writes = "O_RDONLY" not in reaching or bool(reaching & WRITE_FLAGS)
        elif (isinstance(func, ast.Name) and func.id == "open") or dotted == "io.open":
            path = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "file"), None)
            writes = self._mode_writes(call.args[1:2], call)
        elif isinstance(func, ast.Attribute) and func.attr == "open" and not any(
                isinstance(a, ast.Starred) for a in call.args):
            # Path.open(mode): the receiver is the path. (An accessor's open() takes no path: its
            # receiver evaluates to nothing known, and it is not a device path.)
            path = func.value
            writes = self._mode_writes(call.args[:1], call)
        elif isinstance(func, ast.Attribute) and func.attr in PATH_OPENERS:
            path, writes = func.value, PATH_OPENERS[func.attr]
        else:
            return None
        if path is None:
            return None
        return Open(module.relative, call.lineno, ast.unparse(call), self.values(path), writes)

    def _mode_writes(self, positional: list[ast.expr], call: ast.Call) -> bool:
        modes = [*positional, *(k.value for k in call.keywords if k.arg == "mode")]
        values = self._union(modes) if modes else frozenset({"r"})
        return any(WILD in v or set(v) & set("wax+") for v in values)


@functools.lru_cache(maxsize=8)
def _opens(root: Path, texts: tuple[str, ...]) -> tuple[Open, ...]:
    return tuple(Tree(root, "cfgbench").opens())


def opens(root: Path) -> list[Open]:
    """Every open of the tree (once per content of the tree)."""
    return list(_opens(root, tuple(p.read_text() for p in sorted(root.rglob("*.py")))))


def device_opens(root: Path) -> list[Open]:
    return [opened for opened in opens(root) if opened.device]


# Modules that run in the throwaway lab guest alone (they refuse anywhere else, a
# test of their own shows it): they write sysfs and tracefs there (rescans, the
# config-order module's switch, ftrace's counters), never on a host.
GUEST_ONLY = frozenset({"lab/enumeration.py"})


def violations(root: Path, raw_reader: str = "access/ecam.py", guest_only: frozenset[str] = GUEST_ONLY) -> list[str]:
    """What breaks the rules of docs/safety.md in a source tree: a device file
    opened for writing outside the lab guest's own modules, /dev/mem opened
    anywhere but the mmio accessor, /dev/port opened at all (byte-wide only: a
    4-byte access to 0xCF8 through it is wrong)."""
    found = []
    for opened in device_opens(root):
        if opened.writes and opened.module not in guest_only:
            found.append(f"opens a device path for writing: {opened}")
        if opened.may_be("/dev/mem") and opened.module != raw_reader:
            found.append(f"opens /dev/mem outside {raw_reader}: {opened}")
        if opened.may_be("/dev/port"):
            found.append(f"opens /dev/port: {opened}")
    return found
