"""`stratus project|user|credentials` through the real entry point."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from stratus.cli.main import main
from stratus.identity import IdentityStore, identity_dir

ROOT = Path(__file__).resolve().parents[4]


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("STRATUS_DATA", str(tmp_path / "data"))
    return tmp_path / "data"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def as_json(capsys: pytest.CaptureFixture[str], *argv: str) -> object:
    rc, out, err = run(capsys, *argv, "--json")
    assert rc == 0, err
    return json.loads(out)


def test_projects(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        run(capsys, "project", "create", "demo")[1] == "created project demo (account AUTH_demo)\n"
    )
    assert as_json(capsys, "project", "create", "ops") == {"project": "ops", "account": "AUTH_ops"}
    listed = as_json(capsys, "project", "list")
    assert [p["project"] for p in listed] == ["demo", "ops"]  # type: ignore[union-attr,index]
    rc, out, _ = run(capsys, "project", "list")
    assert rc == 0 and "AUTH_demo" in out and out.startswith("PROJECT")
    rc, _, err = run(capsys, "project", "create", "demo")
    assert rc == 1 and err == "stratus: error: project demo exists already\n"
    assert run(capsys, "project", "delete", "ops")[0] == 0
    assert [p["project"] for p in as_json(capsys, "project", "list")] == ["demo"]  # type: ignore[union-attr,index]
    assert (identity_dir(data) / "data.mdb").exists()


def test_user_create_prints_a_working_key(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "project", "create", "demo")
    rc, out, _ = run(capsys, "user", "create", "demo:bob")
    assert rc == 0
    lines = out.splitlines()
    assert lines[0] == "created user demo:bob (role member)"
    key = lines[1].removeprefix("key: ")
    made = as_json(capsys, "user", "create", "demo:amy", "--role", "admin")
    assert made["role"] == "admin" and len(made["key"]) == 32  # type: ignore[index]
    with IdentityStore(identity_dir(data)) as store:
        assert store.check_key("demo", "bob", key) is not None
        assert store.check_key("demo", "amy", made["key"]) is not None  # type: ignore[index]


def test_user_create_with_given_key(
    data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run(capsys, "project", "create", "demo")
    rc, out, _ = run(capsys, "user", "create", "demo:bob", "--key", "testing")
    assert rc == 0 and "testing" not in out
    monkeypatch.setattr(sys, "stdin", io.StringIO("from-stdin\n"))
    assert run(capsys, "user", "create", "demo:eve", "--key", "-", "--role", "reader")[0] == 0
    with IdentityStore(identity_dir(data)) as store:
        assert store.check_key("demo", "bob", "testing") is not None
        assert store.check_key("demo", "eve", "from-stdin") is not None


def test_user_list_delete_set_key_set_role(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for p in ("a", "b"):
        run(capsys, "project", "create", p)
        run(capsys, "user", "create", f"{p}:u", "--key", "k")
    assert [u["project"] for u in as_json(capsys, "user", "list")] == ["a", "b"]  # type: ignore[index,union-attr]
    only_b = as_json(capsys, "user", "list", "--project", "b")
    assert [(u["user"], u["role"]) for u in only_b] == [("u", "member")]  # type: ignore[index,union-attr]
    assert run(capsys, "user", "set-role", "b:u", "reader")[1] == "b:u now has role reader\n"
    new_key = as_json(capsys, "user", "set-key", "b:u")["key"]  # type: ignore[index]
    rc, out, _ = run(capsys, "user", "list", "--project", "b")
    assert rc == 0 and "b:u" in out and "reader" in out
    assert run(capsys, "user", "delete", "a:u")[0] == 0
    rc, _, err = run(capsys, "user", "delete", "a:u")
    assert rc == 1 and "does not exist" in err
    with IdentityStore(identity_dir(data)) as store:
        assert [u.spec for u in store.list_users()] == ["b:u"]
        assert store.check_key("b", "u", new_key) is not None
        assert store.get_user("b", "u").role == "reader"


def test_project_delete_with_users_needs_force(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "project", "create", "demo")
    run(capsys, "user", "create", "demo:bob", "--key", "k")
    rc, _, err = run(capsys, "project", "delete", "demo")
    assert rc == 1 and "still has 1 user" in err
    assert run(capsys, "project", "delete", "demo", "--force")[0] == 0
    assert as_json(capsys, "user", "list") == []


def test_credentials(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "project", "create", "demo")
    run(capsys, "user", "create", "demo:bob", "--key", "k")
    run(capsys, "user", "create", "demo:amy", "--key", "k")
    made = as_json(capsys, "credentials", "create", "--user", "demo:bob")
    access, secret = made["access"], made["secret"]  # type: ignore[index]
    rc, out, _ = run(capsys, "credentials", "create", "--user", "demo:amy")
    assert rc == 0 and "access key: STR" in out and "secret key: " in out
    listed = as_json(capsys, "credentials", "list", "--user", "demo:bob")
    assert [c["access"] for c in listed] == [access]  # type: ignore[index,union-attr]
    assert secret not in json.dumps(as_json(capsys, "credentials", "list"))
    assert len(as_json(capsys, "credentials", "list", "--project", "demo")) == 2  # type: ignore[arg-type]
    rc, _, err = run(capsys, "credentials", "delete", access, "--user", "demo:amy")
    assert rc == 1 and "does not belong to demo:amy" in err
    with IdentityStore(identity_dir(data)) as store:
        assert store.lookup_credential(access)[0] == secret
    assert run(capsys, "credentials", "delete", access, "--user", "demo:bob")[0] == 0
    rc, _, err = run(capsys, "credentials", "delete", access)
    assert rc == 1 and "does not exist" in err


@pytest.mark.parametrize(
    "argv,message",
    [
        (["user", "create", "nope:bob"], "project nope does not exist"),
        (["user", "create", "bob"], "write it as PROJECT:USER"),
        (["project", "create", "a:b"], "invalid project name"),
        (["user", "create", "demo:b/c"], "invalid user name"),
        (["user", "create", "demo:bob", "--key", " x"], "invalid key"),
        (["credentials", "create", "--user", "demo:ghost"], "user demo:ghost does not exist"),
    ],
)
def test_errors_are_clean(
    data: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    run(capsys, "project", "create", "demo")
    rc, out, err = run(capsys, *argv)
    assert rc == 1 and out == ""
    assert err.startswith("stratus: error: ") and message in err
    assert "Traceback" not in err


def test_unknown_role_is_a_usage_error(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["user", "create", "demo:bob", "--role", "root"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_cli_process_while_the_store_is_open(data: Path) -> None:
    """What happens when `stratus user create` runs beside a running server."""
    with IdentityStore(identity_dir(data)) as server_side:
        server_side.create_project("live")
        out = subprocess.run(
            [sys.executable, "-m", "stratus.cli.main", "user", "create", "live:new", "--json"],
            capture_output=True,
            text=True,
            env={**os.environ, "STRATUS_DATA": str(data), "PYTHONPATH": str(ROOT)},
            timeout=60,
            check=True,
        )
        key = json.loads(out.stdout)["key"]
        result = server_side.login("live", "new", key, 60)
        assert result is not None
        assert server_side.authenticate_token(result[0]) is not None
