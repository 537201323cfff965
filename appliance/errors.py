"""Domain errors raised by services; the API maps them to Immich's HTTP error bodies."""

from __future__ import annotations


class ShoeboxError(Exception):
    """Base class. `status` is the HTTP status the API layer answers with."""

    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(ShoeboxError):
    status = 400


class NotFound(ShoeboxError):
    """Immich answers 400 for a missing or foreign id on most routes; use `NotFoundHttp` for a real 404."""

    status = 400


class NotFoundHttp(ShoeboxError):
    status = 404


class Unauthorized(ShoeboxError):
    status = 401


class Forbidden(ShoeboxError):
    status = 403


class Conflict(ShoeboxError):
    status = 409


class PayloadTooLarge(ShoeboxError):
    status = 413


class InsufficientStorage(ShoeboxError):
    """The disk is full. Immich has no special code; we answer 507 with a clear message."""

    status = 507
