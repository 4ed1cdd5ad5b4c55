"""Object Lock values as AWS writes them: dates, default periods, response headers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from objectstore.common import retention
from s3compat import lock_state
from s3compat.errors import S3Error


def test_dates_in_iso_8601() -> None:
    assert (
        lock_state.parse_date("2030-01-02T03:04:05Z")
        == datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC).timestamp()
    )
    assert (
        lock_state.parse_date("2030-01-02T03:04:05.250+01:00")
        == datetime(2030, 1, 2, 2, 4, 5, 250000, tzinfo=UTC).timestamp()
    )
    assert lock_state.parse_date("2030-01-02") == datetime(2030, 1, 2, tzinfo=UTC).timestamp()
    with pytest.raises(S3Error) as exc:
        lock_state.parse_date("next tuesday")
    assert exc.value.code == "InvalidArgument"


def test_years_follow_the_calendar() -> None:
    leap = datetime(2028, 2, 29, 12, tzinfo=UTC)
    assert lock_state.add_years(leap, 1) == datetime(2029, 2, 28, 12, tzinfo=UTC)
    assert lock_state.add_years(leap, 4) == datetime(2032, 2, 29, 12, tzinfo=UTC)


def test_response_headers() -> None:
    until = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC).timestamp()
    system = {**lock_state.retention_entries("COMPLIANCE", until), retention.LEGAL_HOLD: "OFF"}
    assert lock_state.response_headers(system) == {
        "x-amz-object-lock-mode": "COMPLIANCE",
        "x-amz-object-lock-retain-until-date": "2030-01-02T03:04:05.000Z",
        "x-amz-object-lock-legal-hold": "OFF",
    }
    assert lock_state.response_headers({}) == {}
