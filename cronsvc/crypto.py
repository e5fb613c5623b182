"""Encryption at rest for target credentials (MultiFernet: the first key encrypts, all decrypt)."""

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver


def derived_key() -> bytes:
    # Without FIELD_ENCRYPTION_KEYS the secret key stands in, so a fresh
    # install still encrypts; operators set their own keys to rotate.
    digest = hashlib.sha256(b"cronsvc field encryption\0" + settings.SECRET_KEY.encode()).digest()
    return base64.urlsafe_b64encode(digest)


@cache
def fernet() -> MultiFernet:
    keys = [key.encode() for key in settings.FIELD_ENCRYPTION_KEYS] or [derived_key()]
    return MultiFernet([Fernet(key) for key in keys])


@receiver(setting_changed)
def forget_keys(*, setting: str, **kwargs: object) -> None:
    # Settings only change under override_settings (tests, rotation drills); without
    # this the cached MultiFernet would go on using the keys it was built with.
    if setting in ("FIELD_ENCRYPTION_KEYS", "SECRET_KEY"):
        fernet.cache_clear()


def encrypt(text: str) -> str:
    return fernet().encrypt(text.encode()).decode() if text else ""


def decrypt(token: str) -> str:
    return fernet().decrypt(token.encode()).decode() if token else ""


def rotate(token: str) -> str:
    """Re-encrypt under the first key (after a new key is put in front)."""
    return fernet().rotate(token.encode()).decode() if token else ""
