"""Sysroot: the only code that reads /proc, /sys and /dev, always below a root folder.

Every read is relative to `Sysroot.root` (``/`` on the box, a captured tree in tests), and a missing or
unreadable file gives ``None`` (or an empty list), never an exception: containers lack /sys/class/thermal,
non-Pi kernels lack the firmware files, Raspberry Pi kernels hide /proc/pressure unless ``psi=1``.
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass
from pathlib import Path


class Access(enum.Enum):
    """What we may do with a device node."""

    MISSING = "missing"
    NO_PERMISSION = "no_permission"
    OK = "ok"


@dataclass(frozen=True)
class Sysroot:
    """A root folder that stands in for ``/`` when reading kernel files."""

    root: Path = Path("/")

    @classmethod
    def host(cls) -> Sysroot:
        return cls(Path("/"))

    @property
    def is_host(self) -> bool:
        """True when this sysroot is the running machine (so /dev paths can be handed to ffmpeg)."""
        try:
            return self.root.resolve() == Path("/")
        except OSError:
            return False

    def path(self, rel: str) -> Path:
        """The real path of ``rel`` (given as ``proc/cpuinfo`` or ``/proc/cpuinfo``)."""
        return self.root / rel.lstrip("/")

    def read_text(self, rel: str) -> str | None:
        """The file's text (NUL bytes, as in device-tree strings, become line ends), or None."""
        try:
            data = self.path(rel).read_bytes()
        except (OSError, ValueError):
            return None
        return data.decode("utf-8", errors="replace").replace("\x00", "\n")

    def read_line(self, rel: str) -> str | None:
        """The first line of the file, stripped; None if absent or empty."""
        text = self.read_text(rel)
        if text is None:
            return None
        line = text.strip().split("\n", 1)[0].strip()
        return line or None

    def read_int(self, rel: str, base: int = 10) -> int | None:
        line = self.read_line(rel)
        if line is None:
            return None
        try:
            return int(line, base)
        except ValueError:
            return None

    def exists(self, rel: str) -> bool:
        try:
            return self.path(rel).exists()
        except OSError:
            return False

    def glob(self, pattern: str) -> list[str]:
        """Relative paths (``dev/dri/renderD128``) matching ``pattern``, sorted naturally."""
        try:
            found = [p.relative_to(self.root).as_posix() for p in self.root.glob(pattern.lstrip("/"))]
        except (OSError, ValueError):
            return []
        return sorted(found, key=_natural_key)

    def listdir(self, rel: str) -> list[str]:
        try:
            return sorted(os.listdir(self.path(rel)), key=_natural_key)
        except OSError:
            return []

    def access(self, rel: str) -> Access:
        """Whether a device node exists and this process may open it read-write."""
        path = self.path(rel)
        try:
            if not path.exists():
                return Access.MISSING
        except OSError:
            return Access.MISSING
        return Access.OK if os.access(path, os.R_OK | os.W_OK) else Access.NO_PERMISSION

    def host_path(self, rel: str) -> str:
        """The path as the running system sees it (``/dev/dri/renderD128``), for command lines."""
        return "/" + rel.lstrip("/")


def _natural_key(name: str) -> list[object]:
    """Sort ``video2`` before ``video10``."""
    parts: list[object] = []
    digits = ""
    text = ""
    for ch in name:
        if ch.isdigit():
            if text:
                parts.append(text)
                text = ""
            digits += ch
        else:
            if digits:
                parts.append(int(digits))
                digits = ""
            text += ch
    if digits:
        parts.append(int(digits))
    if text:
        parts.append(text)
    # ints and strs never compare with each other at the same position thanks to a type tag
    return [(0, p) if isinstance(p, int) else (1, p) for p in parts]
