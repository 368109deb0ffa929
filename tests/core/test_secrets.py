import logging

import pytest

from apps.core import audit
from apps.core.crypto import CredentialsUnreadable, decrypt_json, encrypt_json
from apps.core.logging import RedactSecretsFilter, register_secret
from apps.core.models import AuditEvent
from apps.stores.models import Store
from tests.factories import StoreFactory


def test_credentials_are_encrypted_at_rest(db):
    store = StoreFactory(
        credentials={"consumer_key": "ck_plain_1", "consumer_secret": "cs_plain_2"}
    )
    raw = Store.objects.values_list("credentials_encrypted", flat=True).get(pk=store.pk)
    assert "ck_plain_1" not in raw and "cs_plain_2" not in raw
    assert Store.objects.get(pk=store.pk).decrypted_credentials() == {
        "consumer_key": "ck_plain_1",
        "consumer_secret": "cs_plain_2",
    }


def test_a_ciphertext_from_another_key_is_refused_with_a_clear_error(settings):
    from cryptography.fernet import Fernet

    from apps.core import crypto

    token = encrypt_json({"a": "secret-value"})
    settings.FERNET_KEYS = [Fernet.generate_key().decode()]
    crypto._fernet.cache_clear()
    try:
        with pytest.raises(CredentialsUnreadable, match="MIGRATOR_FERNET_KEYS"):
            decrypt_json(token)
    finally:
        crypto._fernet.cache_clear()


def test_key_rotation_keeps_old_ciphertexts_readable(settings):
    from cryptography.fernet import Fernet

    from apps.core import crypto

    token = encrypt_json({"a": "rotate-me-please"})
    settings.FERNET_KEYS = [Fernet.generate_key().decode(), *settings.FERNET_KEYS]
    crypto._fernet.cache_clear()
    try:
        assert decrypt_json(token) == {"a": "rotate-me-please"}
    finally:
        crypto._fernet.cache_clear()


def test_the_log_filter_masks_every_known_secret_even_in_tracebacks():
    register_secret("sk_live_should_never_print")
    record = logging.LogRecord(
        "x", logging.ERROR, __file__, 1, "auth failed for %s", ("sk_live_should_never_print",), None
    )
    try:
        raise RuntimeError("header X-Auth-Token: sk_live_should_never_print")
    except RuntimeError:
        import sys

        record.exc_info = sys.exc_info()
    RedactSecretsFilter().filter(record)
    text = logging.Formatter().format(record)
    assert "sk_live_should_never_print" not in text
    assert "auth failed for ***" in text and "X-Auth-Token: ***" in text


def test_audit_payloads_drop_secret_keys(db):
    store = StoreFactory()
    event = audit.record(
        action="store.updated",
        obj=store,
        payload={"credentials": {"access_token": "tok-secret-1"}, "password": "pw-123456"},
    )
    stored = AuditEvent.objects.get(pk=event.pk).payload
    assert stored == {"credentials": "***", "password": "***"}
