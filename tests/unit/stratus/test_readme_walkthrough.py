"""README's VM walkthrough runs as written and leaves nothing in the repository (issue 22).

Found by using it: the walkthrough wrote ``guest.sh`` into the clone, and named the
volume ``VOLUME`` where the command takes the name it just created. The block runs
here through bash from a stand-in for the repository, with ``$S`` a stub that
records each `stratus` command (and copies the ``--script`` file it is given).
"""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

README = Path(__file__).resolve().parents[2].parent / "README.md"

STUB = """#!/bin/sh
printf '%s\\n' "$*" >> "$LOG"
while [ $# -gt 0 ]; do
  if [ "$1" = --script ]; then cp "$2" "$LOG.script"; fi
  shift
done
"""


def _walkthrough() -> str:
    text = README.read_text()
    section = re.search(r"^## Boot a VM and attach a volume$(.*?)^## ", text, re.S | re.M)
    assert section, "README.md has no '## Boot a VM and attach a volume' section"
    block = re.search(r"```sh\n(.*?)```", section[1], re.S)
    assert block, "the section has no sh block"
    return block[1]


def test_the_vm_walkthrough_writes_nothing_into_the_clone(tmp_path: Path) -> None:
    clone, log = tmp_path / "clone", tmp_path / "calls.log"
    clone.mkdir()
    stub = tmp_path / "stratus"
    stub.write_text(STUB)
    stub.chmod(0o755)
    script = re.sub(r"^S=.*$", f"S={shlex.quote(str(stub))}", _walkthrough(), count=1, flags=re.M)
    assert script != _walkthrough(), "the block no longer starts by naming the CLI as $S"
    out = subprocess.run(
        ["bash", "-e", "-c", script],
        cwd=clone,
        env={"PATH": "/usr/bin:/bin", "LOG": str(log)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr
    assert list(clone.iterdir()) == []  # the guest script lived in a temporary directory
    calls = [line.split() for line in log.read_text().splitlines()]
    created = next(c for c in calls if c[:2] == ["server", "create"])
    script_arg = created[created.index("--script") + 1]
    assert not script_arg.startswith(str(clone)) and not Path(script_arg).exists()  # removed
    assert "/dev/vda" in (tmp_path / "calls.log.script").read_text()
    # The volume is named by the name it was created with, not a placeholder.
    volume = next(c for c in calls if c[:2] == ["volume", "create"])
    name = volume[volume.index("--name") + 1]
    for action in ("add-volume", "remove-volume"):
        call = next(c for c in calls if c[:2] == ["server", action])
        assert call[2:] == ["vm1", name], call
