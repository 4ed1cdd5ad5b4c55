"""Keystone's error bodies: ``{"error": {"code", "message", "title"}}``."""

from __future__ import annotations

import json
from http import HTTPStatus

from aiohttp import web


class KeystoneError(Exception):
    """An error answered with Keystone's JSON; ``message`` is shown to the client."""

    def __init__(self, code: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.headers = headers


def unauthorized(
    message: str = "The request you have made requires authentication.",
) -> KeystoneError:
    return KeystoneError(401, message)


def forbidden(
    message: str = "You are not authorized to perform the requested action.",
) -> KeystoneError:
    return KeystoneError(403, message)


def not_found(kind: str, ident: str) -> KeystoneError:
    return KeystoneError(404, f"Could not find {kind}: {ident[:80]}.")


def bad_request(message: str) -> KeystoneError:
    return KeystoneError(400, message)


def response(code: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    title = HTTPStatus(code).phrase
    body = {"error": {"code": code, "message": message, "title": title}}
    return web.Response(
        status=code, text=json.dumps(body), content_type="application/json", headers=headers
    )
