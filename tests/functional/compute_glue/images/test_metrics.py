"""The image service's /metrics: requests by route template and status, upload bytes, and
images by status."""

from __future__ import annotations

from tests.functional.compute_glue.conftest import ImageRig
from tests.helpers.metrics import scrape, value

DATA = b"i" * 8192


async def test_image_requests_and_statuses_are_counted(images: ImageRig) -> None:
    before = await scrape(images.url)
    assert value(before, "stratus_images", status="active") == 0
    c = await images.client("tenant-images")
    img = await c.create(name="private-name", disk_format="raw", container_format="bare")
    await c.upload(img["id"], DATA)
    after = await scrape(images.url)
    n = "stratus_http_requests_total"
    upload = "PUT /v2/images/{image_id}/file"
    assert value(after, n, api="image", operation="POST /v2/images", status="201") == 1
    assert value(after, n, api="image", operation=upload, status="204") == 1
    assert value(after, "stratus_http_request_bytes_total", operation=upload) == len(DATA)
    assert value(after, "stratus_http_request_duration_seconds_count", operation=upload) == 1
    assert value(after, "stratus_images", status="active") == 1
    assert value(after, "stratus_images", status="queued") == 0
    assert "private-name" not in str(after) and "tenant-images" not in str(after)
