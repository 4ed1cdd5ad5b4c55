"""Scrape a service's ``/metrics`` and read samples, through prometheus_client's parser."""

from __future__ import annotations

import aiohttp
from prometheus_client.parser import text_string_to_metric_families


def parse(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """``{sample name: [(labels, value), ...]}`` of an exposition text."""
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out.setdefault(s.name, []).append((dict(s.labels), s.value))
    return out


def value(
    samples: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str
) -> float:
    """The sum of the ``name`` samples whose labels include ``labels`` (0 when none)."""
    return sum(v for got, v in samples.get(name, []) if labels.items() <= got.items())


async def scrape(base_url: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """GET ``{base_url}/metrics`` (no credentials), parsed."""
    async with aiohttp.ClientSession() as s, s.get(f"{base_url}/metrics") as resp:
        assert resp.status == 200, resp.status
        assert resp.headers["Content-Type"].startswith("text/plain")
        return parse(await resp.text())
