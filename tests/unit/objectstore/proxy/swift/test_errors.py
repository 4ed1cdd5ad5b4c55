"""Swift's error bodies and the mapping of core errors."""

from __future__ import annotations

from objectstore.proxy import errors as core
from objectstore.proxy.swift.errors import SwiftError, error_response, from_core, html_body


def test_html_bodies() -> None:
    assert html_body(404) == (
        b"<html><h1>Not Found</h1><p>The resource could not be found.</p></html>"
    )
    assert html_body(202) == (
        b"<html><h1>Accepted</h1><p>The request is accepted for processing.</p></html>"
    )
    assert html_body(204) == b""


def test_error_response() -> None:
    resp = error_response(409)
    assert resp.status == 409 and resp.reason == "Conflict"
    assert resp.content_type == "text/html"
    assert b"<h1>Conflict</h1>" in resp.body
    resp = error_response(400, "Metadata name cannot be empty")
    assert resp.content_type == "text/plain"
    assert resp.body == b"Metadata name cannot be empty"


def test_core_mapping() -> None:
    assert from_core(ValueError()) is None
    assert from_core(core.ObjectNotFound()).status == 404
    assert from_core(core.ContainerNotEmpty()).status == 409
    assert from_core(core.EtagMismatch()).status == 422
    assert from_core(core.ServiceUnavailable()).status == 503
    err = from_core(core.RangeNotSatisfiable(42))
    assert err.status == 416 and err.headers["Content-Range"] == "bytes */42"
    err = from_core(core.InvalidInput("bad name"))
    assert (err.status, err.body) == (400, "bad name")
    assert from_core(core.EntityTooLarge()).status == 413
    assert from_core(core.ClientDisconnected()).status == 499
    assert isinstance(from_core(core.PreconditionFailed()), SwiftError)
