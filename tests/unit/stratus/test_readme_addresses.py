"""README's table of the addresses `make up` serves says what the configuration defaults are."""

from __future__ import annotations

import re
from pathlib import Path

from stratus import config

README = Path(__file__).resolve().parents[3] / "README.md"


def test_every_port_in_the_table_is_the_default() -> None:
    rows = re.findall(r"^\| (.+?) \| (.+?) \| `(\w+)\.(\w+)` \|$", README.read_text(), re.M)
    defaults = config.Config()
    seen = set()
    for service, address, section, option in rows:
        ports = [int(p) for p in re.findall(r"(?::|`)(\d{4,5})\b", address)]
        expected = getattr(getattr(defaults, section), option)
        if section == "storage":
            count = defaults.storage.nodes
            assert ports == list(range(expected, expected + count)), service
        elif expected == 0:  # any free port: the row names none
            assert ports == [], service
        else:
            assert ports == [expected], service
        seen.add(section)
    # Every service `stratus up` runs has its row.
    assert seen == {
        "identity",
        "proxy",
        "s3",
        "volume",
        "iscsi",
        "image",
        "compute",
        "network",
        "storage",
        "console",
    }
