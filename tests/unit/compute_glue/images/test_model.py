"""Glance's rules for image attributes, without any I/O."""

from __future__ import annotations

import pytest

from compute_glue.errors import BadRequest, Forbidden
from compute_glue.images.model import Image, new_image, remove_attribute, set_attribute
from compute_glue.images.store import ImageStore

K = "0b8a7e3c-6a5e-4c53-9d5c-2a3f0a2f4d11"


def make(**spec):  # type: ignore[no-untyped-def]
    return new_image(spec, "alpha", "alice", admin=False, now=100.0)


def test_extra_properties_are_flat_strings_in_the_view() -> None:
    img = make(name="n", disk_format="raw", container_format="bare", kernel_id=K, x_y="1")
    view = img.view()
    assert view["kernel_id"] == K and view["x_y"] == "1"
    assert view["self"] == f"/v2/images/{img.id}" and view["file"].endswith("/file")
    assert view["created_at"] == "1970-01-01T00:01:40Z"
    assert Image.from_record(img.to_record()) == img


@pytest.mark.parametrize(
    "spec,error",
    [
        ({"id": "nope"}, BadRequest),
        ({"size": 1}, Forbidden),
        ({"locations": []}, Forbidden),
        ({"visibility": "public"}, Forbidden),  # not an admin
        ({"min_ram": -1}, BadRequest),
        ({"min_ram": True}, BadRequest),
        ({"protected": "yes"}, BadRequest),
        ({"tags": ["a", ""]}, BadRequest),
        ({"bad key!": "v"}, BadRequest),
        ({"prop": 5}, BadRequest),
        ({"ramdisk_id": "x"}, BadRequest),
        ({"disk_format": "ari", "container_format": "aki"}, BadRequest),
    ],
)
def test_refused_attributes(spec, error) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(error):
        make(**spec)


def test_tags_are_deduplicated_and_properties_removed() -> None:
    img = make(tags=["a", "b", "a"], p="1")
    assert img.tags == ["a", "b"]
    set_attribute(img, "p", None, admin=False)
    assert "p" not in img.properties
    with pytest.raises(BadRequest):
        remove_attribute(img, "p")
    with pytest.raises(Forbidden):
        remove_attribute(img, "name")


def test_an_interrupted_upload_is_queued_again_after_a_restart(tmp_path) -> None:
    store = ImageStore(tmp_path / "r")
    img = store.create(make(disk_format="raw", container_format="bare"))
    doomed = store.create(make(disk_format="raw", container_format="bare"))

    def saving(i: Image) -> None:
        i.status = "saving"

    def pending(i: Image) -> None:
        i.status = "pending_delete"

    store.update(img.id, saving)
    store.update(doomed.id, pending)
    reap = store.reconcile()
    assert [i.id for i in reap] == [doomed.id]
    assert store.records.get("images", img.id)["status"] == "queued"
    store.close()
