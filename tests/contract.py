"""Strict response checks against Immich 3.2.2's DTOs (../shared/design/immich-dtos.json), the way
generated clients (Dart, NSwag, mashumaro) read them: every required key present, right JSON types,
legal enum values, nested DTOs checked too."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

_DTOS = Path("shared") / "design" / "immich-dtos.json"
# beside the repository; from a worktree in ../wt/<name>, one level further up
DTOS_FILE = next(
    (folder / _DTOS for folder in Path(__file__).resolve().parents if (folder / _DTOS).is_file()),
    Path(__file__).resolve().parent.parent.parent / _DTOS,
)
ISO_ZONED = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@cache
def _spec() -> dict[str, Any]:
    return json.loads(DTOS_FILE.read_text())  # type: ignore[no-any-return]


def _check(type_name: str, value: Any, path: str, errors: list[str]) -> None:
    spec = _spec()
    if value is None:
        errors.append(f"{path}: null where {type_name} is required")
        return
    inner = type_name.strip("()")
    if type_name.endswith("[]"):
        if not isinstance(value, list):
            errors.append(f"{path}: expected a list of {type_name[:-2]}, got {type(value).__name__}")
            return
        item_type = type_name[:-2]
        nullable_items = item_type.startswith("(") and item_type.endswith(")")  # (string)[]: string | null
        for index, item in enumerate(value):
            if item is None and nullable_items:
                continue
            _check(item_type, item, f"{path}[{index}]", errors)
        return
    if inner == "string":
        if not isinstance(value, str):
            errors.append(f"{path}: expected a string, got {value!r}")
    elif inner == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            errors.append(f"{path}: expected a number, got {value!r}")
    elif inner == "boolean":
        if not isinstance(value, bool):
            errors.append(f"{path}: expected a boolean, got {value!r}")
    elif inner in spec["enums"]:
        if value not in spec["enums"][inner]:
            errors.append(f"{path}: {value!r} is not a {inner} ({spec['enums'][inner]})")
    elif inner in spec["dtos"] or inner in spec["aliases"]:
        _check_dto(spec["aliases"].get(inner, inner), value, path, errors)
    # free-form types ({[key: string]: any;}, unions) are not checked further


def _check_dto(name: str, value: Any, path: str, errors: list[str]) -> None:
    dto = _spec()["dtos"][name]
    if not isinstance(value, dict):
        errors.append(f"{path}: expected an object ({name}), got {type(value).__name__}")
        return
    for key in dto["required"]:
        if key not in value:
            errors.append(f"{path}.{key}: missing (required by {name})")
    for key, prop in dto["properties"].items():
        if key not in value:
            continue
        if value[key] is None:
            if not prop["nullable"]:
                errors.append(f"{path}.{key}: null but {name}.{key} is not nullable")
            continue
        _check(prop["type"], value[key], f"{path}.{key}", errors)
        if prop["type"] == "string" and isinstance(value[key], str):
            lowered = key.lower()
            is_time = lowered.endswith("at") or lowered in {"datetimeoriginal", "localdatetime", "modifydate"}
            if is_time and value[key] and not ISO_ZONED.match(value[key]):
                errors.append(f"{path}.{key}: {value[key]!r} is not a zoned ISO timestamp")


def problems(name: str, value: Any) -> list[str]:
    errors: list[str] = []
    _check(name, value, name, errors)
    return errors


def assert_matches(name: str, value: Any) -> None:
    errors = problems(name, value)
    assert not errors, "\n".join(errors)
