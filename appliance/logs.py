"""`logger(name)`: a module's logger that imports `logging` at its first message, not at load.

For the modules `shoebox import` loads before it forks its copy process (the walk, the copier, staging):
everything loaded there delays the copying, and `logging` with what it imports (traceback, linecache,
tokenize, textwrap, string) took 6-8 ms of it, for messages that rarely come."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    import logging


class _LazyLogger:
    __slots__ = ("_name", "_logger")

    def __init__(self, name: str) -> None:
        self._name = name
        self._logger: logging.Logger | None = None

    def __getattr__(self, attribute: str) -> Any:
        if self._logger is None:
            import logging

            self._logger = logging.getLogger(self._name)
        return getattr(self._logger, attribute)


def logger(name: str) -> logging.Logger:
    """`logging.getLogger(name)`, fetched when first used."""
    return cast("logging.Logger", _LazyLogger(name))
