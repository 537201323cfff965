"""Immich 3.2's `filter` DSL (SearchFilter) compiled to a SQL condition on `assets a` / `asset_exif e`.

Every field is a small operator object: IdsFilter{all,any,none}, IdFilter{eq,ne}, DateFilter{eq,gt,gte,lt,
lte,ne}, BoolFilter{eq}, StringFilter{eq,ne,in,notIn} (+ like/notLike/startsWith/endsWith for patterns),
NumberFilter{eq,ne,gt,gte,lt,lte,in,notIn}, EnumFilter{eq,ne,in,notIn}; `or` is a list of branches.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

from appliance.clock import iso, parse_iso


class FilterError(ValueError):
    pass


ALBUM_SUB = "SELECT asset_id FROM album_assets WHERE album_id {op}"
# a tag matches its own assets and those of every tag below it
TAG_SUB = (
    "SELECT ta.asset_id FROM tag_assets ta JOIN tags c ON c.id = ta.tag_id JOIN tags t ON t.user_id = c.user_id"
    " AND (c.id = t.id OR substr(c.value, 1, length(t.value) + 1) = t.value || '/') WHERE t.id {op}"
)

_EXIF_COLUMNS = {
    "city": "e.city", "country": "e.country", "state": "e.state", "make": "e.make", "model": "e.model",
    "lensModel": "e.lens_model",
}
_PATTERN_COLUMNS = {
    "description": "e.description", "originalFileName": "a.original_file_name", "originalPath": "a.original_path",
}
_DATE_COLUMNS = {
    "takenAt": "a.file_created_at", "createdAt": "a.created_at", "updatedAt": "a.updated_at",
    "trashedAt": "a.deleted_at",
}
_BOOL_SQL = {
    "isFavorite": "a.is_favorite = 1",
    "isOffline": "a.is_offline = 1",
    "isEncoded": "a.encoded_video_path IS NOT NULL",
    "isMotion": "a.live_photo_video_id IS NOT NULL",
    "hasAlbums": "EXISTS (SELECT 1 FROM album_assets x WHERE x.asset_id = a.id)",
    "hasTags": "EXISTS (SELECT 1 FROM tag_assets x WHERE x.asset_id = a.id)",
    "hasPeople": "0",
}


def _marks(values: list[Any]) -> str:
    return ", ".join("?" for _ in values) or "NULL"


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class Compiler:
    def __init__(self) -> None:
        self.params: list[Any] = []
        self.needs_exif = False

    def compile(self, spec: dict[str, Any]) -> str:
        clauses: list[str] = []
        for name, value in spec.items():
            if value is None:
                continue
            if name == "or":
                branches = [self.compile(branch) for branch in value if isinstance(branch, dict)]
                if branches:
                    clauses.append("(" + " OR ".join(f"({b})" for b in branches) + ")")
                continue
            if not isinstance(value, dict):
                raise FilterError(f"filter.{name} must be an object")
            clauses.append(self._field(name, value))
        return " AND ".join(clauses) or "1"

    def _field(self, name: str, ops: dict[str, Any]) -> str:
        handlers: dict[str, Callable[[str, dict[str, Any]], str]] = {
            "albumIds": lambda n, o: self._ids(ALBUM_SUB, o),
            "tagIds": lambda n, o: self._ids(TAG_SUB, o),
            "personIds": lambda n, o: self._people(o),
            "id": lambda n, o: self._scalar("a.id", o),
            "libraryId": lambda n, o: "1" if o.get("eq", "x") is None or "ne" in o else "0",
            "checksum": lambda n, o: self._scalar("a.checksum", {k: _checksum(v) for k, v in o.items()}),
            "encodedVideoPath": lambda n, o: self._scalar("a.encoded_video_path", o),
            "fileSizeInBytes": lambda n, o: self._scalar("a.file_size", o),
            "rating": lambda n, o: self._exif_scalar("e.rating", o),
            "type": lambda n, o: self._scalar("a.type", o),
            "visibility": lambda n, o: self._scalar("a.visibility", o),
            "ocr": lambda n, o: "0",
        }
        if name in handlers:
            return handlers[name](name, ops)
        if name in _EXIF_COLUMNS:
            return self._exif_scalar(_EXIF_COLUMNS[name], ops)
        if name in _PATTERN_COLUMNS:
            if _PATTERN_COLUMNS[name].startswith("e."):
                self.needs_exif = True
            return self._pattern(_PATTERN_COLUMNS[name], ops)
        if name in _DATE_COLUMNS:
            return self._scalar(_DATE_COLUMNS[name], {k: _date(v) for k, v in ops.items()})
        if name in _BOOL_SQL:
            if not isinstance(ops.get("eq"), bool):
                raise FilterError(f"filter.{name}.eq must be a boolean")
            return _BOOL_SQL[name] if ops["eq"] else f"NOT ({_BOOL_SQL[name]})"
        raise FilterError(f"filter.{name} is not supported")

    def _ids(self, sub: str, ops: dict[str, Any]) -> str:
        parts: list[str] = []
        for value in ops.get("all") or []:
            parts.append(f"a.id IN ({sub.format(op='= ?')})")
            self.params.append(value)
        for key, negate in (("any", ""), ("none", "NOT ")):
            values = list(ops.get(key) or [])
            if values:
                parts.append(f"a.id {negate}IN ({sub.format(op='IN (' + _marks(values) + ')')})")
                self.params.extend(values)
        return " AND ".join(parts) or "1"

    @staticmethod
    def _people(ops: dict[str, Any]) -> str:
        # no face detection yet: nobody is in any photo
        return "0" if ops.get("all") or ops.get("any") else "1"

    def _exif_scalar(self, column: str, ops: dict[str, Any]) -> str:
        self.needs_exif = True
        return self._scalar(column, ops)

    def _scalar(self, column: str, ops: dict[str, Any]) -> str:
        parts: list[str] = []
        for op, value in ops.items():
            if op == "eq":
                parts.append(f"{column} IS NULL" if value is None else f"{column} = ?")
            elif op == "ne":
                parts.append(f"{column} IS NOT NULL" if value is None else f"({column} IS NULL OR {column} != ?)")
            elif op in ("gt", "gte", "lt", "lte"):
                parts.append(f"{column} {dict(gt='>', gte='>=', lt='<', lte='<=')[op]} ?")
            elif op in ("in", "notIn"):
                values = list(value or [])
                sql = f"{column} IN ({_marks(values)})"
                parts.append(sql if op == "in" else f"({column} IS NULL OR NOT {sql})")
                self.params.extend(values)
                continue
            else:
                raise FilterError(f"unknown operator {op}")
            if value is not None:
                self.params.append(value)
        return " AND ".join(parts) or "1"

    def _pattern(self, column: str, ops: dict[str, Any]) -> str:
        parts: list[str] = []
        rest = {k: v for k, v in ops.items() if k in ("eq", "ne", "in", "notIn")}
        if rest:
            parts.append(self._scalar(column, rest))
        for op, template in (("like", "%{}%"), ("notLike", "%{}%"), ("startsWith", "{}%"), ("endsWith", "%{}")):
            if ops.get(op) is not None:
                negate = "NOT " if op == "notLike" else ""
                parts.append(f"{negate}coalesce({column}, '') LIKE ? ESCAPE '\\'")
                self.params.append(template.format(_escape_like(str(ops[op]))))
        return " AND ".join(parts) or "1"


def _date(value: Any) -> Any:
    if value is None:
        return None
    try:
        return iso(parse_iso(str(value)))
    except ValueError as err:
        raise FilterError(f"invalid date {value!r}") from err


def _checksum(value: Any) -> Any:
    if isinstance(value, list):
        return [_checksum(v) for v in value]
    try:
        text = str(value)
        return base64.b64decode(text, validate=True) if len(text) == 28 else bytes.fromhex(text)
    except (binascii.Error, ValueError) as err:
        raise FilterError("checksum must be base64 or hex") from err


def compile_filter(spec: dict[str, Any]) -> tuple[str, list[Any], bool]:
    """(SQL condition, parameters, whether asset_exif must be joined as `e`)."""
    compiler = Compiler()
    sql = compiler.compile(spec)
    return sql, compiler.params, compiler.needs_exif
