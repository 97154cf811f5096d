"""Finds the reason codes the source code emits, by reading it (ast), for tests/docs/test_reason_codes.py.

A reason is emitted where an expression flows into `reasons`:

- `reasons=` in a call, or the positional argument in the place of a `reasons` parameter or field of a
  function or class defined in the scanned packages (`Decision("warn", [...])`);
- an assignment, annotated or augmented assignment to a name or attribute `reasons` (tuple assignments
  matched element by element);
- `reasons.append/extend/insert(...)`.

From such an expression the scan takes string literals and f-strings (a formatted part becomes `<*>`, a
conditional between two literals becomes each literal), through lists, tuples, sets, comprehensions, dict
values, subscripts, conditionals, `+`, `list(...)`, and the `return` values of functions defined in the
scanned packages. A name that is a parameter of the enclosing function is followed to the calls of that
function in the same module. Not emissions: a single string (display text built from reasons) and a field
declaration (`Field(...)`). A call's result assigned to a tuple (`verdict, reasons = f()`) is followed to
the matching element of each tuple the function returns. Reasons passed on from elsewhere (`x.reasons`, the
name `reasons` itself) are scanned where they were made. Anything else is reported as
unresolved, so a new way of emitting a reason cannot slip past the test.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

PLACEHOLDER = "<*>"
SINK = "reasons"
NOT_REASON_CODES = frozenset({"PresetDescription"})
"""Calls whose `reasons=` is prose, not codes: a policy preset's reason for each threshold."""

Function = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass
class Scan:
    emitted: dict[str, list[str]] = field(default_factory=dict)
    """Pattern -> where (`file:line`)."""
    unresolved: list[str] = field(default_factory=list)
    """`file: expression` for each source the scan could not read."""


@dataclass
class _Tables:
    """What every scanned module defines: functions by name, and where `reasons` sits in signatures."""

    functions: dict[str, list[tuple[_Module, Function]]] = field(default_factory=dict)
    reason_slots: dict[str, set[tuple[int, bool]]] = field(default_factory=dict)
    """Callable name -> (index of the `reasons` parameter or field, whether it is a method taking self)."""


def _call_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _is_sink(target: ast.expr) -> bool:
    return (isinstance(target, ast.Name) and target.id == SINK) or (
        isinstance(target, ast.Attribute) and target.attr == SINK
    )


def _is_text(node: ast.expr) -> bool:
    """A single string (display text such as `", ".join(reasons)`): reasons are a list, so no code is made."""
    if isinstance(node, ast.IfExp):
        return _is_text(node.body) and _is_text(node.orelse)
    if isinstance(node, ast.Call):
        return isinstance(node.func, ast.Attribute) and node.func.attr == "join"
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str))


def _is_declaration(node: ast.expr) -> bool:
    """A model or dataclass field declaring `reasons` (`Field(...)`, `field(...)`), not emitting any."""
    return isinstance(node, ast.Call) and _call_name(node.func) in ("Field", "field")


def _parameters(function: Function) -> list[str]:
    a = function.args
    return [p.arg for p in [*a.posonlyargs, *a.args, *a.kwonlyargs]]


def _takes_self(function: Function) -> bool:
    return _parameters(function)[:1] in (["self"], ["cls"])


class _Module:
    def __init__(self, path: Path, label: str, scan: Scan, tables: _Tables) -> None:
        self.tree = ast.parse(path.read_text())
        self.label = label
        self.scan = scan
        self.tables = tables
        self.parents: dict[ast.AST, ast.AST] = {}
        for node in ast.walk(self.tree):
            for child in ast.iter_child_nodes(node):
                self.parents[child] = node
        self.calls = [n for n in ast.walk(self.tree) if isinstance(n, ast.Call)]
        self._following: set[int] = set()

    def register(self) -> None:
        for node in ast.walk(self.tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                self.tables.functions.setdefault(node.name, []).append((self, node))
                params = _parameters(node)
                if SINK in params:
                    self.tables.reason_slots.setdefault(node.name, set()).add((params.index(SINK), _takes_self(node)))
            elif isinstance(node, ast.ClassDef):
                fields = [
                    s.target.id for s in node.body if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)
                ]
                if SINK in fields:
                    self.tables.reason_slots.setdefault(node.name, set()).add((fields.index(SINK), False))

    def run(self) -> None:
        for node in ast.walk(self.tree):
            for module, source, element in self._sources(node):
                if not element and (_is_text(source) or _is_declaration(source)):
                    continue
                for pattern in module._patterns(source):
                    where = f"{module.label}:{getattr(source, 'lineno', '?')}"
                    self.scan.emitted.setdefault(pattern, []).append(where)

    def _sources(self, node: ast.AST) -> Iterator[tuple[_Module, ast.expr, bool]]:
        """(module, expression, whether it is one element rather than a list) for each flow into `reasons`."""
        if isinstance(node, ast.Assign):
            for target in node.targets:
                yield from self._paired(target, node.value)
        elif isinstance(node, ast.AnnAssign | ast.AugAssign) and node.value is not None and _is_sink(node.target):
            yield self, node.value, False
        elif isinstance(node, ast.Call):
            func, name = node.func, _call_name(node.func)
            if isinstance(func, ast.Attribute) and func.attr in ("append", "insert") and _is_sink(func.value):
                yield self, node.args[-1], True
            if isinstance(func, ast.Attribute) and func.attr == "extend" and _is_sink(func.value):
                yield self, node.args[-1], False
            if name in NOT_REASON_CODES or name is None:
                return
            yield from ((self, k.value, False) for k in node.keywords if k.arg == SINK)
            for index, method in self.tables.reason_slots.get(name, set()):
                position = index - (1 if method and isinstance(func, ast.Attribute) else 0)
                if 0 <= position < len(node.args):
                    yield self, node.args[position], False

    def _paired(self, target: ast.expr, value: ast.expr) -> Iterator[tuple[_Module, ast.expr, bool]]:
        if _is_sink(target):
            yield self, value, False
        elif isinstance(target, ast.Tuple):
            slot = next((i for i, t in enumerate(target.elts) if _is_sink(t)), None)
            if isinstance(value, ast.Tuple) and len(value.elts) == len(target.elts):
                for t, v in zip(target.elts, value.elts, strict=True):
                    yield from self._paired(t, v)
            elif slot is not None and isinstance(value, ast.Call):
                yield from self._returned(value, slot, len(target.elts))
            elif slot is not None:
                self._unresolved(value)

    def _returned(self, call: ast.Call, slot: int, width: int) -> Iterator[tuple[_Module, ast.expr, bool]]:
        """The `slot`-th element of each tuple the called function returns (`a, reasons = f()`)."""
        defined = self._defined(call)
        if not defined:
            self._unresolved(call)
        for module, function in defined:
            for ret in ast.walk(function):
                if not isinstance(ret, ast.Return) or ret.value is None:
                    continue
                if isinstance(ret.value, ast.Tuple) and len(ret.value.elts) == width:
                    yield module, ret.value.elts[slot], False
                elif not isinstance(ret.value, ast.Call):  # a call returned: that function's own returns
                    module._unresolved(ret.value)

    def _unresolved(self, node: ast.expr) -> None:
        self.scan.unresolved.append(f"{self.label}: {ast.unparse(node)}")

    def _patterns(self, node: ast.expr) -> Iterator[str]:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, str):
                yield node.value
            else:
                self._unresolved(node)
        elif isinstance(node, ast.JoinedStr):
            yield from self._fstring(node)
        elif isinstance(node, ast.List | ast.Tuple | ast.Set):
            for elt in node.elts:
                yield from self._patterns(elt)
        elif isinstance(node, ast.Starred):
            yield from self._patterns(node.value)
        elif isinstance(node, ast.Dict):
            for value in node.values:
                yield from self._patterns(value)
        elif isinstance(node, ast.Subscript):
            yield from self._patterns(node.value)
        elif isinstance(node, ast.IfExp):
            yield from self._patterns(node.body)
            yield from self._patterns(node.orelse)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            yield from self._patterns(node.left)
            yield from self._patterns(node.right)
        elif isinstance(node, ast.ListComp | ast.GeneratorExp | ast.SetComp):
            yield from self._comprehension(node)
        elif isinstance(node, ast.Call):
            yield from self._call(node)
        elif isinstance(node, ast.Attribute) and node.attr == SINK:
            return  # passed on: made where that object got its reasons
        elif isinstance(node, ast.Name):
            yield from self._name(node)
        else:
            self._unresolved(node)

    def _fstring(self, node: ast.JoinedStr) -> Iterator[str]:
        choices: list[list[str]] = []
        for part in node.values:
            if isinstance(part, ast.Constant):
                choices.append([str(part.value)])
            elif isinstance(part, ast.FormattedValue) and isinstance(part.value, ast.IfExp):
                branches = [part.value.body, part.value.orelse]
                literals = [b.value for b in branches if isinstance(b, ast.Constant) and isinstance(b.value, str)]
                choices.append(literals if len(literals) == 2 else [PLACEHOLDER])
            else:
                choices.append([PLACEHOLDER])
        for parts in itertools.product(*choices):
            yield "".join(parts)

    def _comprehension(self, node: ast.ListComp | ast.GeneratorExp | ast.SetComp) -> Iterator[str]:
        bound = {n.id: gen.iter for gen in node.generators for n in ast.walk(gen.target) if isinstance(n, ast.Name)}
        if isinstance(node.elt, ast.Name) and node.elt.id in bound:
            yield from self._patterns(bound[node.elt.id])
        else:
            yield from self._patterns(node.elt)

    def _defined(self, call: ast.Call) -> list[tuple[_Module, Function]]:
        """The functions of the scanned packages a call may reach, by name."""
        defined = self.tables.functions.get(_call_name(call.func) or "", [])
        local = [(m, f) for m, f in defined if m is self]
        if isinstance(call.func, ast.Name) and local:
            return local  # a module's own function wins over same-named ones elsewhere
        return defined

    def _call(self, node: ast.Call) -> Iterator[str]:
        if _call_name(node.func) in ("list", "tuple", "sorted") and node.args:
            yield from self._patterns(node.args[0])
            return
        defined = self._defined(node)
        if not defined:
            self._unresolved(node)
            return
        for module, function in defined:
            if id(function) in module._following:
                continue  # recursion: already being followed
            module._following.add(id(function))
            try:
                for ret in ast.walk(function):
                    if isinstance(ret, ast.Return) and ret.value is not None:
                        yield from module._patterns(ret.value)
            finally:
                module._following.discard(id(function))

    def _name(self, node: ast.Name) -> Iterator[str]:
        if node.id == SINK:
            return  # the sink itself, e.g. `reasons = [*reasons, ...]`: each addition is scanned where made
        function = self._enclosing_function(node)
        params = _parameters(function) if function is not None else []
        if function is None or node.id not in params:
            self._unresolved(node)
            return
        index = params.index(node.id)
        found = False
        for call in self.calls:
            if _call_name(call.func) != function.name:
                continue
            offset = 1 if isinstance(call.func, ast.Attribute) and _takes_self(function) else 0
            given = [k.value for k in call.keywords if k.arg == node.id]
            if not given and 0 <= index - offset < len(call.args):
                given = [call.args[index - offset]]
            for arg in given:
                found = True
                yield from self._patterns(arg)
        if not found:
            self._unresolved(node)

    def _enclosing_function(self, node: ast.AST) -> Function | None:
        current: ast.AST | None = node
        while current is not None:
            current = self.parents.get(current)
            if isinstance(current, ast.FunctionDef | ast.AsyncFunctionDef):
                return current
        return None


def scan_reasons(root: Path, packages: tuple[str, ...] = ("schemas", "evaluators", "service")) -> Scan:
    """Every reason pattern the packages under `root` emit, and the sources the scan could not read."""
    scan, tables = Scan(), _Tables()
    modules = [
        _Module(path, str(path.relative_to(root)), scan, tables)
        for package in packages
        for path in sorted((root / package).rglob("*.py"))
    ]
    for module in modules:
        module.register()
    for module in modules:
        module.run()
    return scan
