"""Encryption at rest for tokens stored in the database (Fernet, from `cryptography`).

The key lives in the user's keyring when a usable backend exists (Secret Service, macOS
Keychain, Windows Credential Locker), otherwise in a key file with mode 0600 in the data
directory. A keyring that is missing, a "fail"/"null" backend, or one that raises (no D-Bus, a
locked collection) is tolerated: the key file is used instead. A key already in the key file
stays in use even when a keyring appears later, so stored tokens keep decrypting.

Loading the key may block (keyring, file system): build a `SecretBox` with `open_secret_box`
(which runs in a thread) or from a thread. Encrypting and decrypting are fast and pure. Neither
the key nor a token is ever logged; a wrong key is a `SecretStoreError` asking for the token
again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import tempfile
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from asynccoder_tui.domain.errors import SecretStoreError

log = logging.getLogger(__name__)

KEYRING_SERVICE = "asynccoder"
KEYRING_USERNAME = "token-encryption-key"


def _keyring_backend() -> object | None:
    """The keyring backend when one is usable, else None (never raises)."""
    try:
        import keyring
        from keyring.backends import fail

        backend = keyring.get_keyring()
    except Exception as err:  # an import or configuration failure of the keyring package
        log.info("keyring unavailable: %s", type(err).__name__)
        return None
    if isinstance(backend, fail.Keyring):
        return None
    name = f"{type(backend).__module__}.{type(backend).__name__}".lower()
    if "null" in name or "fail" in name:
        return None
    if hasattr(backend, "backends") and not backend.backends:
        return None  # a chainer with nothing to chain
    return backend


def _keyring_get(backend: object) -> str | None:
    try:
        return backend.get_password(KEYRING_SERVICE, KEYRING_USERNAME)  # type: ignore[attr-defined,no-any-return]
    except Exception as err:  # backends raise all sorts (KeyringError, DBus, RuntimeError)
        log.warning("cannot read the encryption key from the keyring (%s)", type(err).__name__)
        raise


def _keyring_set(backend: object, key: str) -> bool:
    try:
        backend.set_password(KEYRING_SERVICE, KEYRING_USERNAME, key)  # type: ignore[attr-defined]
        return backend.get_password(KEYRING_SERVICE, KEYRING_USERNAME) == key  # type: ignore[attr-defined,no-any-return]
    except Exception as err:  # as above: a failing backend means "use the key file"
        log.warning("cannot store the encryption key in the keyring (%s)", type(err).__name__)
        return False


def _read_key_file(path: Path) -> bytes | None:
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    if info.st_uid != os.getuid():
        raise SecretStoreError(
            f"the key file {path} belongs to another user",
            hint="delete it (stored tokens must then be entered again) or fix its owner",
        )
    if stat.S_IMODE(info.st_mode) & 0o077:
        log.warning("key file %s was readable by others; restricting it to 0600", path)
        path.chmod(0o600)
    return path.read_bytes().strip()


def _create_key_file(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = Fernet.generate_key()
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mode 0600
    tmp = Path(name)
    try:
        os.write(fd, key + b"\n")
        os.fsync(fd)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)  # fails if another process created the key first
    except FileExistsError:
        tmp.unlink()
        existing = _read_key_file(path)
        if existing is None:  # pragma: no cover - deleted between link and read
            raise SecretStoreError(f"the key file {path} vanished while being created") from None
        return existing
    tmp.unlink()
    return key


def load_key(key_file: Path, *, use_keyring: bool = True) -> tuple[bytes, str]:
    """(key, where it is kept: "keyring" or "file"), creating a key when there is none.

    A key file that cannot be read or written (a full disk, a read-only or forbidden data
    directory) is a `SecretStoreError` naming the file and the reason."""
    try:
        return _load_key(key_file, use_keyring=use_keyring)
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise SecretStoreError(
            f"cannot use the token encryption key file {key_file}: {reason}",
            hint="make the data directory writable (and free some space), then try again",
        ) from err


def _load_key(key_file: Path, *, use_keyring: bool) -> tuple[bytes, str]:
    existing = _read_key_file(key_file)
    if existing is not None:
        return existing, "file"
    backend = _keyring_backend() if use_keyring else None
    if backend is not None:
        try:
            stored = _keyring_get(backend)
        except Exception:  # logged in _keyring_get; fall back to the key file
            stored = None
            backend = None
        if stored:
            return stored.encode("ascii"), "keyring"
        if backend is not None:
            key = Fernet.generate_key()
            if _keyring_set(backend, key.decode("ascii")):
                return key, "keyring"
    return _create_key_file(key_file), "file"


class SecretBox:
    """Encrypts and decrypts short secrets (tokens) with one Fernet key."""

    def __init__(self, key: bytes, *, location: str = "memory") -> None:
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError) as err:
            raise SecretStoreError(
                f"the token encryption key (in the {location}) is malformed",
                hint="remove it; stored tokens must then be entered again",
            ) from err
        self.location = location

    @classmethod
    def load(cls, key_file: Path, *, use_keyring: bool = True) -> SecretBox:
        key, location = load_key(key_file, use_keyring=use_keyring)
        return cls(key, location=location)

    def encrypt(self, secret: str) -> str:
        if not secret:
            raise SecretStoreError("refusing to store an empty secret")
        return self._fernet.encrypt(secret.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError, ValueError) as err:
            raise SecretStoreError(
                "a stored token cannot be decrypted: the encryption key changed or is missing",
                hint="enter the GitHub token again in settings",
            ) from err

    def __repr__(self) -> str:
        return f"SecretBox(location={self.location!r})"


async def open_secret_box(key_file: Path, *, use_keyring: bool = True) -> SecretBox:
    """`SecretBox.load` off the event loop (keyring and file access may block)."""
    return await asyncio.to_thread(SecretBox.load, key_file, use_keyring=use_keyring)
