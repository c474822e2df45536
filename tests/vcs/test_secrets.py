"""Tokens at rest: Fernet with a key in the keyring, or in a 0600 key file when there is none."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail

from asynccoder_tui.domain.errors import SecretStoreError
from asynccoder_tui.vcs.secrets import (
    KEYRING_SERVICE,
    KEYRING_USERNAME,
    SecretBox,
    load_key,
    open_secret_box,
)

TOKEN = "ghp_EncryptMe0123456789abcdef"


class MemoryKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.store.pop((service, username), None)


class BrokenKeyring(KeyringBackend):
    """A backend whose service is down (no D-Bus, locked collection...)."""

    priority = 5  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        raise RuntimeError("org.freedesktop.DBus.Error.ServiceUnknown")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise RuntimeError("org.freedesktop.DBus.Error.ServiceUnknown")

    def delete_password(self, service: str, username: str) -> None:
        raise RuntimeError("org.freedesktop.DBus.Error.ServiceUnknown")


@pytest.fixture
def use_keyring() -> Iterator[type]:
    original = keyring.get_keyring()

    def install(backend: KeyringBackend) -> None:
        keyring.set_keyring(backend)

    yield install  # type: ignore[misc]
    keyring.set_keyring(original)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_key_file_fallback_is_private_and_stable(
    tmp_path: Path, use_keyring: object, caplog: pytest.LogCaptureFixture
) -> None:
    keyring.set_keyring(fail.Keyring())
    key_file = tmp_path / "data" / "secret.key"
    caplog.set_level(logging.DEBUG)
    box = SecretBox.load(key_file)
    assert box.location == "file" and mode(key_file) == 0o600
    sealed = box.encrypt(TOKEN)
    assert TOKEN not in sealed and sealed != box.encrypt(TOKEN), "no fresh nonce"
    again = SecretBox.load(key_file)
    assert again.decrypt(sealed) == TOKEN
    key = key_file.read_text().strip()
    assert TOKEN not in caplog.text and key not in caplog.text
    assert key not in repr(box) and TOKEN not in repr(box)


def test_key_lives_in_a_usable_keyring(tmp_path: Path, use_keyring: object) -> None:
    memory = MemoryKeyring()
    keyring.set_keyring(memory)
    key_file = tmp_path / "secret.key"
    box = SecretBox.load(key_file)
    assert box.location == "keyring"
    assert not key_file.exists()
    assert (KEYRING_SERVICE, KEYRING_USERNAME) in memory.store
    sealed = box.encrypt(TOKEN)
    assert SecretBox.load(key_file).decrypt(sealed) == TOKEN


def test_a_failing_keyring_falls_back_to_the_key_file(
    tmp_path: Path, use_keyring: object, caplog: pytest.LogCaptureFixture
) -> None:
    keyring.set_keyring(BrokenKeyring())
    key_file = tmp_path / "secret.key"
    box = SecretBox.load(key_file)
    assert box.location == "file" and mode(key_file) == 0o600
    assert box.decrypt(box.encrypt(TOKEN)) == TOKEN
    assert "RuntimeError" in caplog.text


def test_an_existing_key_file_stays_in_use_when_a_keyring_appears(
    tmp_path: Path, use_keyring: object
) -> None:
    keyring.set_keyring(fail.Keyring())
    key_file = tmp_path / "secret.key"
    sealed = SecretBox.load(key_file).encrypt(TOKEN)
    keyring.set_keyring(MemoryKeyring())
    box = SecretBox.load(key_file)
    assert box.location == "file" and box.decrypt(sealed) == TOKEN


def test_wrong_or_malformed_keys_are_clear_errors(tmp_path: Path) -> None:
    a = SecretBox.load(tmp_path / "a.key", use_keyring=False)
    b = SecretBox.load(tmp_path / "b.key", use_keyring=False)
    with pytest.raises(SecretStoreError) as info:
        b.decrypt(a.encrypt(TOKEN))
    assert "cannot be decrypted" in str(info.value) and "enter the GitHub token again" in str(
        info.value
    )
    with pytest.raises(SecretStoreError):
        a.decrypt("not a fernet token")
    (tmp_path / "bad.key").write_text("short\n")
    (tmp_path / "bad.key").chmod(0o600)
    with pytest.raises(SecretStoreError, match="malformed"):
        SecretBox.load(tmp_path / "bad.key", use_keyring=False)
    with pytest.raises(SecretStoreError):
        a.encrypt("")


def test_loose_key_file_permissions_are_tightened(tmp_path: Path) -> None:
    key_file = tmp_path / "secret.key"
    sealed = SecretBox.load(key_file, use_keyring=False).encrypt(TOKEN)
    key_file.chmod(0o644)
    assert SecretBox.load(key_file, use_keyring=False).decrypt(sealed) == TOKEN
    assert mode(key_file) == 0o600


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the file to another user")
def test_a_key_file_of_another_user_is_refused(tmp_path: Path) -> None:
    key_file = tmp_path / "secret.key"
    SecretBox.load(key_file, use_keyring=False)
    os.chown(key_file, 65534, 65534)
    with pytest.raises(SecretStoreError, match="belongs to another user"):
        SecretBox.load(key_file, use_keyring=False)


def test_concurrent_first_use_agrees_on_one_key(tmp_path: Path) -> None:
    key_file = tmp_path / "secret.key"
    with ThreadPoolExecutor(8) as pool:
        keys = list(pool.map(lambda _: load_key(key_file, use_keyring=False)[0], range(8)))
    assert len(set(keys)) == 1
    assert key_file.read_bytes().strip() == keys[0]
    assert [p.name for p in tmp_path.iterdir()] == ["secret.key"]


async def test_open_secret_box_off_the_event_loop(tmp_path: Path) -> None:
    box = await open_secret_box(tmp_path / "secret.key", use_keyring=False)
    assert box.decrypt(box.encrypt(TOKEN)) == TOKEN
