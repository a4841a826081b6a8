"""Vendor keys at rest: Fernet under ``SPENDBOT_SECRET_KEY`` (the first key encrypts, all decrypt).

With SQLite and no key configured, one is generated once into the data folder with mode 0600, so a
single-box install works out of the box; with PostgreSQL the key is required, so every replica can
read what another wrote. Every key that is decrypted is registered with the log scrubber.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr

from bot.domain.errors import SpendbotError
from bot.logs import register_secret
from bot.settings import Settings

log = logging.getLogger(__name__)

KEY_FILE_NAME = "secret.key"


class SecretKeyError(SpendbotError):
    """The encryption key is missing, malformed, or does not open a stored secret; one readable line."""


class SecretBox:
    """Encrypts and decrypts vendor keys; ``rotate`` re-encrypts under the first key."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise SecretKeyError("no encryption key")
        try:
            self._fernets = [Fernet(key.encode()) for key in keys]
        except (ValueError, TypeError):
            raise SecretKeyError(
                "SPENDBOT_SECRET_KEY must be Fernet keys (32 url-safe base64 bytes), comma-separated"
            ) from None
        self._box = MultiFernet(self._fernets)
        for key in keys:
            register_secret(key)

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        if settings.secret_key is not None:
            keys = [
                part.strip() for part in settings.secret_key.get_secret_value().split(",") if part.strip()
            ]
            return cls(keys)
        if settings.is_postgres:
            raise SecretKeyError(
                "SPENDBOT_SECRET_KEY is required with PostgreSQL, so every replica shares it"
            )
        return cls([load_or_create_key_file(settings.data_dir / KEY_FILE_NAME)])

    def encrypt(self, plain: str) -> str:
        return self._box.encrypt(plain.encode()).decode()

    def decrypt(self, token: str) -> SecretStr:
        try:
            plain = self._box.decrypt(token.encode()).decode()
        except InvalidToken:
            raise SecretKeyError(
                "a stored vendor key cannot be decrypted with SPENDBOT_SECRET_KEY (was the key changed "
                "without keeping the old one after a comma?)"
            ) from None
        register_secret(plain)
        return SecretStr(plain)

    def rotate(self, token: str) -> str:
        """The same secret, encrypted under the first key (a no-op in content, new ciphertext)."""
        try:
            return self._box.rotate(token.encode()).decode()
        except InvalidToken:
            raise SecretKeyError("a stored vendor key cannot be decrypted with any key given") from None

    def is_current(self, token: str) -> bool:
        """True when ``token`` already opens with the first (encrypting) key."""
        try:
            self._fernets[0].decrypt(token.encode())
        except InvalidToken:
            return False
        return True


def load_or_create_key_file(path: Path) -> str:
    """Read the generated key, or create it once with mode 0600 (readable by this user only)."""
    if path.exists():
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            log.warning("the secret key file %s is readable by others (mode %o); chmod 600 it", path, mode)
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key().decode()
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return path.read_text().strip()
    with os.fdopen(descriptor, "w") as handle:
        handle.write(key + "\n")
    log.warning(
        "generated an encryption key for stored vendor keys at %s (mode 0600); back it up with the "
        "database, or set SPENDBOT_SECRET_KEY",
        path,
    )
    return key
