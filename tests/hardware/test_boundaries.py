"""The hardware package stands alone: it imports no other Shoebox layer, and only sysroot.py opens files
below /proc, /sys or /dev."""

from __future__ import annotations

import ast
from pathlib import Path

import appliance.hardware

PACKAGE = Path(appliance.hardware.__file__).parent
MODULES = sorted(PACKAGE.glob("*.py"))


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_hardware_imports_no_other_shoebox_layer() -> None:
    for path in MODULES:
        foreign = {
            m
            for m in imported_modules(path)
            if m.startswith("appliance") and not m.startswith("appliance.hardware")
        }
        assert not foreign, f"{path.name} imports {foreign}"


def _file_reads(tree: ast.AST) -> set[str]:
    """Calls that read files, except through a ``sysroot`` object (``sysroot.read_text(...)`` is fine)."""
    readers = {"read_text", "read_bytes", "listdir", "scandir", "open", "access", "glob", "exists"}
    found = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in readers:
            found.add(func.id)
        elif isinstance(func, ast.Attribute) and func.attr in readers:
            receiver = func.value
            name = receiver.id if isinstance(receiver, ast.Name) else getattr(receiver, "attr", "")
            if name != "sysroot":
                found.add(f"{ast.unparse(receiver)}.{func.attr}")
    return found


def test_only_sysroot_reads_kernel_files() -> None:
    # profiles.py reads the TOML profiles and encoders.py the encoder cache: neither is a kernel file.
    allowed = {"sysroot.py", "profiles.py", "encoders.py"}
    for path in MODULES:
        if path.name not in allowed:
            reads = _file_reads(ast.parse(path.read_text()))
            assert not reads, f"{path.name} reads files itself: {reads}"
