"""cronsvc/crypto.py: target credentials encrypted at rest, with key rotation."""

import pytest
from cryptography.fernet import Fernet, InvalidToken

from cronsvc import crypto

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


def test_it_reads_back_what_it_encrypted():
    token = crypto.encrypt("s3cret password")

    assert token != "s3cret password"
    assert "s3cret" not in token
    assert crypto.decrypt(token) == "s3cret password"


def test_the_same_text_encrypts_differently_each_time():
    assert crypto.encrypt("s3cret") != crypto.encrypt("s3cret")


def test_nothing_stays_nothing():
    assert crypto.encrypt("") == ""
    assert crypto.decrypt("") == ""


def test_without_keys_it_encrypts_under_a_key_derived_from_the_secret_key(settings):
    settings.FIELD_ENCRYPTION_KEYS = []
    token = crypto.encrypt("s3cret")

    settings.SECRET_KEY = "another secret key"

    with pytest.raises(InvalidToken):
        crypto.decrypt(token)


def test_a_new_key_in_front_still_reads_old_tokens_and_rotate_moves_them(settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    old_token = crypto.encrypt("s3cret")

    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    assert crypto.decrypt(old_token) == "s3cret"
    new_token = crypto.rotate(old_token)

    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    assert crypto.decrypt(new_token) == "s3cret"
    with pytest.raises(InvalidToken):
        crypto.decrypt(old_token)


def test_new_tokens_are_encrypted_under_the_first_key(settings):
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    token = crypto.encrypt("s3cret")

    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    assert crypto.decrypt(token) == "s3cret"
