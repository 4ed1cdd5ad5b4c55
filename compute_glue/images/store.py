"""Image records in LMDB, with Glance's visibility, listing and status rules.

Every status change is one write transaction checked against the status it
expects, so two uploads of one image cannot both start, and a delete during
an upload is noticed when the upload ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from compute_glue.errors import BadRequest, Conflict, Forbidden, NotFound
from compute_glue.images.model import Image
from compute_glue.records import RecordStore
from stratus.identity import Principal

TABLE = "images"
SORT_KEYS = ("created_at", "updated_at", "name", "size", "status", "id", "disk_format")
IN_FILTERS = ("id", "name", "status", "container_format", "disk_format")
CORE_FILTERS = ("id", "name", "status", "visibility", "owner", "disk_format", "container_format",
                "protected", "os_hidden")  # fmt: skip
PAGING = ("limit", "marker", "sort_key", "sort_dir", "sort", "size_min", "size_max", "tag")


class ImageStore:
    """The image records of one image service."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.records = RecordStore(path, [TABLE])
        self.clock = clock

    def close(self) -> None:
        self.records.close()

    def reconcile(self) -> list[Image]:
        """After a restart: an upload cut short is queued again; returns images to reap."""
        reap = []
        with self.records.write() as t:
            for key, rec in t.scan(TABLE):
                img = Image.from_record(rec)
                if img.status == "saving":
                    img.status = "queued"
                    t.put(TABLE, key, img.to_record())
                elif img.status == "pending_delete":
                    reap.append(img)
        return reap

    def create(self, img: Image) -> Image:
        with self.records.write() as t:
            if t.get(TABLE, img.id) is not None:
                raise Conflict(f"An image with id {img.id} exists already.")
            t.put(TABLE, img.id, img.to_record())
        return img

    def get(self, image_id: str, who: Principal) -> Image:
        """The image if ``who`` (a Principal) may see it; 404 otherwise."""
        rec = self.records.get(TABLE, image_id)
        if rec is None:
            raise NotFound(f"No image found with ID {image_id}")
        img = Image.from_record(rec)
        if not img.visible_to(who.project, who.is_reseller_admin) or img.status == "pending_delete":
            raise NotFound(f"No image found with ID {image_id}")
        return img

    def get_own(self, image_id: str, who: Principal) -> Image:
        """The image if ``who`` may change it: its owner (or an operator)."""
        img = self.get(image_id, who)
        if img.owner != who.project and not who.is_reseller_admin:
            raise Forbidden("You are not permitted to modify an image of another project.")
        return img

    def update(
        self, image_id: str, change: Callable[[Image], None], expect: tuple[str, ...] = ()
    ) -> Image:
        """Apply ``change`` in one transaction, when the status is one of ``expect`` (if any)."""
        with self.records.write() as t:
            rec = t.get(TABLE, image_id)
            if rec is None:
                raise NotFound(f"No image found with ID {image_id}")
            img = Image.from_record(rec)
            if expect and img.status not in expect:
                raise Conflict(f"Image {image_id} is {img.status}, not {' or '.join(expect)}.")
            change(img)
            img.updated_at = self.clock()
            t.put(TABLE, image_id, img.to_record())
        return img

    def remove(self, image_id: str) -> None:
        self.records.delete(TABLE, image_id)

    def list(
        self, who: Principal, query: dict[str, Any], tags: list[str]
    ) -> tuple[list[Image], bool]:
        """Images ``who`` may see that match the filters; (page, more pages follow)."""
        limit = int(query.get("limit", 25))
        if not 0 < limit <= 1000:
            raise BadRequest("limit must be between 1 and 1000.")
        sort_key = query.get("sort_key", "created_at")
        sort_dir = query.get("sort_dir", "desc")
        if sort_key not in SORT_KEYS or sort_dir not in ("asc", "desc"):
            raise BadRequest("Invalid sort_key or sort_dir.")
        wanted = _filters(query)
        found = [
            img
            for _key, rec in self.records.scan(TABLE)
            if _matches(img := Image.from_record(rec), who, wanted, tags, query)
        ]
        found.sort(
            key=lambda i: (_sortable(getattr(i, sort_key)), i.id), reverse=sort_dir == "desc"
        )
        marker = query.get("marker")
        if marker is not None:
            ids = [i.id for i in found]
            if marker not in ids:
                raise BadRequest(f"marker {marker[:64]} is not an image you can see.")
            found = found[ids.index(marker) + 1 :]
        return found[:limit], len(found) > limit


def _sortable(value: Any) -> tuple[int, Any]:
    return (0, "") if value is None else (1, value)


def _filters(query: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in query.items():
        if key in PAGING:
            continue
        if key in ("protected", "os_hidden"):
            flag = str(value).lower()  # Glance reads booleans leniently: openstacksdk sends True
            if flag not in ("true", "false"):
                raise BadRequest(f"{key} must be true or false.")
            out[key] = flag == "true"
        elif key in IN_FILTERS and isinstance(value, str) and value.startswith("in:"):
            # Glance's "in:" operator (openstacksdk names a page of servers' images this way).
            out[key] = frozenset(v.strip().strip('"') for v in value[3:].split(","))
        else:
            out[key] = value
    for key in ("size_min", "size_max"):
        if key in query:
            try:
                out[key] = int(query[key])
            except ValueError:
                raise BadRequest(f"{key} must be an integer.") from None
    return out


def _matches(img: Image, who: Principal, wanted: dict[str, Any], tags: list[str], q: Any) -> bool:
    if img.status == "pending_delete":
        return False
    admin = who.is_reseller_admin
    vis = wanted.get("visibility", "all")
    if vis not in ("all", "public", "private"):
        raise BadRequest("visibility must be public, private or all.")
    if not img.visible_to(who.project, admin):
        return False
    if vis != "all" and img.visibility != vis:
        return False
    if "os_hidden" not in wanted and img.os_hidden:
        return False
    for key, value in wanted.items():
        if key in ("visibility", "size_min", "size_max"):
            continue
        have = getattr(img, key) if key in CORE_FILTERS else img.properties.get(key)
        if isinstance(value, frozenset):
            if have not in value:
                return False
        elif have != value:
            return False
    size = img.size or 0
    if "size_min" in wanted and (img.size is None or size < wanted["size_min"]):
        return False
    if "size_max" in wanted and (img.size is None or size > wanted["size_max"]):
        return False
    return all(t in img.tags for t in tags)
