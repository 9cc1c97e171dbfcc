"""Sealing a step's secrets for the scheduler: what stays clear, what is sealed, who can open it."""

from __future__ import annotations

import pytest

pytest.importorskip("cryptography")

from cryptography.fernet import Fernet

from engine.errors import UserError
from engine.executors.dask.sealing import (
    KEY_ENV,
    KEY_FILE_ENV,
    SealingError,
    load_key,
    require_key,
    seal,
    unseal,
)

SECRET = "hunter2-s3cr3t-value"
TASK = "pe-run1-deploy-1"


@pytest.fixture
def key_text() -> str:
    return Fernet.generate_key().decode()


def _sealed(key_text: str, **overrides: object):  # type: ignore[no-untyped-def]
    spec: dict[str, object] = {
        "argv": ("sh", "-c", "echo $TOKEN"),
        "env": {
            "PATH": "/usr/bin",
            "TOKEN": SECRET,
            "URL": f"https://user:{SECRET}@example.org",
            KEY_ENV: key_text,
        },
        "script": None,
        "mask_values": (SECRET,),
    }
    spec.update(overrides)
    return seal(TASK, key=load_key({KEY_ENV: key_text}), **spec)  # type: ignore[arg-type]


def test_secret_values_and_env_carrying_them_leave_only_sealed(key_text: str) -> None:
    parts = _sealed(key_text)
    assert parts.env == {"PATH": "/usr/bin"}  # TOKEN and URL (derived) sealed, the key dropped
    assert parts.argv == ("sh", "-c", "echo $TOKEN")
    assert parts.token is not None
    assert SECRET.encode() not in repr(parts).encode()
    assert key_text not in repr(parts)
    opened = unseal(TASK, parts, {KEY_ENV: key_text})
    assert opened.env == {
        "PATH": "/usr/bin",
        "TOKEN": SECRET,
        "URL": f"https://user:{SECRET}@example.org",
    }
    assert opened.mask_values == (SECRET,)
    assert opened.argv == ("sh", "-c", "echo $TOKEN")


def test_an_argv_or_script_holding_a_secret_travels_sealed(key_text: str) -> None:
    parts = _sealed(
        key_text, argv=("curl", "-H", f"Bearer {SECRET}"), script=("/s/x.sh", f"echo {SECRET}")
    )
    assert parts.argv == ()
    assert parts.script is None
    opened = unseal(TASK, parts, {KEY_ENV: key_text})
    assert opened.argv == ("curl", "-H", f"Bearer {SECRET}")
    assert opened.script == ("/s/x.sh", f"echo {SECRET}")


def test_a_step_without_secrets_needs_no_key_and_drops_the_key_variables() -> None:
    parts = seal(
        TASK,
        argv=("true",),
        env={"PATH": "/bin", KEY_FILE_ENV: "/k"},
        script=None,
        mask_values=(),
        key=None,
    )
    assert parts.token is None
    assert parts.env == {"PATH": "/bin"}
    assert unseal(TASK, parts, {}).env == {"PATH": "/bin"}


def test_a_worker_without_the_key_or_with_another_cannot_open_it(key_text: str) -> None:
    parts = _sealed(key_text)
    with pytest.raises(SealingError, match=f"{KEY_ENV} is not set on this worker"):
        unseal(TASK, parts, {})
    other = Fernet.generate_key().decode()
    with pytest.raises(SealingError, match="not the engine's"):
        unseal(TASK, parts, {KEY_ENV: other})


def test_a_token_opens_only_for_the_attempt_it_was_sealed_for(key_text: str) -> None:
    parts = _sealed(key_text)
    with pytest.raises(SealingError, match="made for pe-run1-deploy-1"):
        unseal("pe-run1-other-1", parts, {KEY_ENV: key_text})


def test_rotation_seals_with_the_first_key_and_opens_with_any(key_text: str) -> None:
    old = Fernet.generate_key().decode()
    parts = _sealed(old)
    assert unseal(TASK, parts, {KEY_ENV: f"{key_text},{old}"}).env["TOKEN"] == SECRET


def test_the_key_may_come_from_a_file(key_text: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "dask.key"
    path.write_text(key_text + "\n")
    parts = _sealed(key_text)
    assert unseal(TASK, parts, {KEY_FILE_ENV: str(path)}).env["TOKEN"] == SECRET
    with pytest.raises(UserError, match="cannot read ENGINE_DASK_KEY_FILE"):
        load_key({KEY_FILE_ENV: str(tmp_path / "missing")})


def test_no_key_or_a_malformed_key_is_one_usage_sentence() -> None:
    with pytest.raises(UserError, match="must seal them: set ENGINE_DASK_KEY") as caught:
        require_key({})
    assert caught.value.exit_code == 2
    with pytest.raises(UserError, match="is not a Fernet key") as caught:
        load_key({KEY_ENV: "not-a-key"})
    assert caught.value.exit_code == 2
    assert "\n" not in caught.value.message


def test_without_a_key_a_step_holding_no_secret_goes_without_the_values_to_mask() -> None:
    parts = seal(TASK, ("true",), {"PATH": "/bin"}, None, (SECRET,), key=None)
    assert parts.token is None
    assert SECRET not in repr(parts)
    assert unseal(TASK, parts, {}).mask_values == ()
    with pytest.raises(UserError, match="must seal them"):
        seal(TASK, ("true",), {"TOKEN": SECRET}, None, (SECRET,), key=None)
