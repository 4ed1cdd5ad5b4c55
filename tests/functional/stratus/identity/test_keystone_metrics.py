"""The identity service's /metrics: token requests by status, and stored tokens."""

from __future__ import annotations

from tests.functional.stratus.identity.test_keystone import base, call, login, password_auth, store
from tests.helpers.metrics import scrape, value

__all__ = ["base", "store"]  # the fixtures, shared with the Keystone API tests

N = "stratus_http_requests_total"
TOKENS = "POST /v3/auth/tokens"


async def test_token_requests_and_stored_tokens_are_counted(base: str) -> None:
    before = await scrape(base)
    await login(base, "amy", "amy-key", "p")
    status, _, _ = await call("POST", f"{base}/v3/auth/tokens", password_auth("amy", "wrong"))
    assert status == 401
    after = await scrape(base)
    for code in ("201", "401"):
        labels = {"api": "identity", "operation": TOKENS, "status": code}
        assert value(after, N, **labels) - value(before, N, **labels) == 1
    assert value(after, "stratus_identity_tokens") == value(before, "stratus_identity_tokens") + 1
    assert "amy" not in str(after)
