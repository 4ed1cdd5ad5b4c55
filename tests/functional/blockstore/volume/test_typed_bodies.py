"""Request bodies are parsed into typed values at the API's edge: a reader is refused
(403) before any value of its body is judged, and a member gets the 400 the services
gave before (same message), for each body that carries values."""

from __future__ import annotations

from typing import Any

import pytest

from blockstore.client import VolumeApiError
from tests.functional.blockstore.volume.conftest import Api

HOST = "iqn.2024-01.org.stratus.test:typed-host"


async def _refused(call: Any) -> VolumeApiError:
    with pytest.raises(VolumeApiError) as err:
        await call
    return err.value


async def test_a_reader_is_refused_before_its_bad_values(api: Api) -> None:
    alice = api.client("alpha", "alice")
    reader = api.client("alpha", "rita", "reader")
    vol = await alice.wait_volume((await alice.create_volume(1))["id"])
    vid = vol["id"]
    bad = [
        reader.request("POST", "/volumes", {"volume": {"size": "lots", "metadata": 5}}),
        reader.volume_action(vid, "os-extend", {"new_size": "lots"}),
        reader.volume_action(vid, "os-set_bootable", {"bootable": "maybe"}),
        reader.volume_action(vid, "os-update_readonly_flag", {"readonly": "maybe"}),
        reader.request("POST", "/snapshots", {"snapshot": {"volume_id": 5, "name": 7}}),
        reader.request("POST", "/backups", {"backup": {"volume_id": vid, "force": "maybe"}}),
        reader.request("POST", "/attachments", {"attachment": {"volume_uuid": 5, "mode": "x"}}),
    ]
    for attempt in bad:
        assert (await _refused(attempt)).status == 403


@pytest.mark.parametrize(
    ("method", "path", "body", "message"),
    [
        ("POST", "/volumes", {"volume": {"size": "lots"}}, "size must be an integer"),
        ("POST", "/volumes", {"volume": {"size": 1, "name": 7}}, "name must be a string"),
        ("POST", "/volumes", {"volume": {"size": 1, "metadata": []}}, "metadata must be an"),
        ("POST", "/volumes", {"volume": {"size": 1, "multiattach": "x"}}, "multiattach must"),
        ("POST", "/volumes", {"volume": {"size": 1, "volume_type": 3}}, "volume_type must"),
        ("POST", "/volumes", {"volume": {"snapshot_id": "s", "source_volid": "v"}}, "at most"),
        ("POST", "/snapshots", {"snapshot": {"volume_id": 5}}, "needs a volume_id"),
        ("POST", "/attachments", {"attachment": {"volume_uuid": "v", "mode": "x"}}, "rw or ro"),
        ("POST", "/attachments", {"attachment": {"volume_uuid": "v", "connector": 1}}, "object"),
    ],
)
async def test_a_member_gets_the_services_refusal(
    api: Api, method: str, path: str, body: Any, message: str
) -> None:
    err = await _refused(api.client("alpha", "alice").request(method, path, body))
    assert err.status == 400 and message in err.message


async def test_actions_parse_their_values(api: Api) -> None:
    alice = api.client("alpha", "alice")
    vid = (await alice.wait_volume((await alice.create_volume(1))["id"]))["id"]
    err = await _refused(alice.volume_action(vid, "os-extend", {"new_size": 0}))
    assert err.status == 400 and "new_size must be an integer and greater than 0" in err.message
    err = await _refused(alice.volume_action(vid, "os-set_bootable", {"bootable": "maybe"}))
    assert err.status == 400 and "bootable must be a boolean" in err.message
    await alice.volume_action(vid, "os-set_bootable", {"bootable": "true"})
    assert (await alice.get_volume(vid))["bootable"] == "true"
    await alice.volume_action(vid, "os-extend", {"new_size": "2"})
    assert (await alice.wait_volume(vid))["size"] == 2
