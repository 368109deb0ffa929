"""Encryption at rest for store credentials (Fernet, keys from MIGRATOR_FERNET_KEYS).

The first key encrypts; every key decrypts, so keys can be rotated by prepending a new one.
"""

from __future__ import annotations

import json
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

from apps.core.logging import register_secret


class CredentialsUnreadable(Exception):
    """The stored ciphertext does not decrypt with any configured key."""


@lru_cache(maxsize=1)
def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in settings.FERNET_KEYS])


def encrypt_json(data: dict[str, str]) -> str:
    for value in data.values():
        register_secret(value)
    return _fernet().encrypt(json.dumps(data, sort_keys=True).encode()).decode()


def decrypt_json(token: str) -> dict[str, str]:
    if not token:
        return {}
    try:
        data = json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken:
        raise CredentialsUnreadable(
            "Stored credentials cannot be decrypted with the configured MIGRATOR_FERNET_KEYS."
        ) from None
    for value in data.values():
        register_secret(value)
    return data
