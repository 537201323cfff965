"""What every handler uses: the services, the caller, request parsing and JSON responses."""

from __future__ import annotations

import json
from typing import Any, TypeVar

import orjson
import pydantic
from aiohttp import web

from appliance.errors import BadRequest
from appliance.ids import is_uuid
from appliance.library.context import AuthContext
from appliance.services import Services

SERVICES: web.AppKey[Services] = web.AppKey("services", Services)
AUTH: web.RequestKey[AuthContext] = web.RequestKey("auth", AuthContext)
CORRELATION_ID: web.RequestKey[str] = web.RequestKey("correlation_id", str)

M = TypeVar("M", bound=pydantic.BaseModel)


class Dto(pydantic.BaseModel):
    """Base of request bodies: unknown fields are ignored, as Immich's validation strips them."""

    # defer_build: schemas are built on first use, which keeps start-up (time to the first pong) short
    model_config = pydantic.ConfigDict(extra="ignore", populate_by_name=True, defer_build=True)


class RequestValidationError(BadRequest):
    def __init__(self, messages: list[str]) -> None:
        super().__init__("Validation failed")
        self.messages = messages


def services(request: web.Request) -> Services:
    return request.app[SERVICES]


def auth(request: web.Request) -> AuthContext:
    return request[AUTH]


def _messages(err: pydantic.ValidationError) -> list[str]:
    messages = []
    for issue in err.errors():
        where = ".".join(str(part) for part in issue["loc"]) or "body"
        messages.append(f"{where}: {issue['msg']}")
    return messages


async def body(request: web.Request, model: type[M]) -> M:
    raw = await request.read()
    if len(raw) > services(request).settings.max_json_bytes:
        raise BadRequest("Request body too large")
    try:
        data = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError) as err:
        raise BadRequest("Invalid JSON body") from err
    return validate(model, data)


def validate(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as err:
        raise RequestValidationError(_messages(err)) from err


def query(request: web.Request, model: type[M]) -> M:
    """Query parameters through a model; repeated keys become lists where the model wants a list."""
    data: dict[str, Any] = {}
    for key in request.query:
        values = request.query.getall(key)
        field = model.model_fields.get(key)
        wants_list = field is not None and "list" in str(field.annotation)
        data[key] = values if wants_list else values[-1]
    return validate(model, data)


def uuid_param(request: web.Request, name: str = "id") -> str:
    value = request.match_info[name]
    if not is_uuid(value):
        raise RequestValidationError([f"{name} must be a UUID"])
    return value.lower()


def dumps(data: Any) -> bytes:
    """Compact UTF-8 JSON, the bytes `json.dumps(data, separators=(",", ":"), ensure_ascii=False)` gives
    (orjson is several times faster on large bodies such as a month of the timeline). The one difference:
    tiny exponents print as JavaScript does (`1e-7`, not Python's `1e-07`). Integers beyond 64 bits, which
    orjson refuses, go through the standard library."""
    try:
        return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)
    except orjson.JSONEncodeError:
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def as_json(data: Any, status: int = 200) -> web.Response:
    return json_bytes(dumps(data), status)


def json_bytes(payload: bytes, status: int = 200) -> web.Response:
    """A JSON response from bytes already encoded."""
    return web.Response(body=payload, status=status, content_type="application/json", charset="utf-8")


def no_content() -> web.Response:
    return web.Response(status=204)
