"""Sealing personal data: a value encrypted under the newest key, opened under any, re-sealed on rotation."""

import pytest
from cryptography.fernet import Fernet
from flask import Flask

from shop import sealing

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


@pytest.fixture
def keys():
    """An app context whose PERSONAL_DATA_KEYS the test sets."""
    app = Flask(__name__)
    with app.app_context():
        yield app.config


def test_a_sealed_phone_reads_back_and_does_not_show_in_the_stored_text(keys):
    keys["PERSONAL_DATA_KEYS"] = (NEW,)
    token = sealing.seal("13812345678")
    assert "13812345678" not in token and "5678" not in token
    assert sealing.unseal(token) == "13812345678"


def test_the_same_number_seals_differently_each_time(keys):
    keys["PERSONAL_DATA_KEYS"] = (NEW,)
    assert sealing.seal("13812345678") != sealing.seal("13812345678")


def test_a_value_sealed_under_an_old_key_still_opens_after_a_new_key_is_put_first(keys):
    keys["PERSONAL_DATA_KEYS"] = (OLD,)
    token = sealing.seal("13812345678")
    keys["PERSONAL_DATA_KEYS"] = (NEW, OLD)
    assert sealing.unseal(token) == "13812345678"
    resealed = sealing.reseal(token)
    keys["PERSONAL_DATA_KEYS"] = (NEW,)
    assert sealing.unseal(resealed) == "13812345678"
    with pytest.raises(sealing.SealBroken):
        sealing.unseal(token)


def test_a_value_altered_in_the_database_does_not_open(keys):
    keys["PERSONAL_DATA_KEYS"] = (NEW,)
    token = sealing.seal("13812345678")
    altered = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]
    with pytest.raises(sealing.SealBroken):
        sealing.unseal(altered)
    with pytest.raises(sealing.SealBroken):
        sealing.unseal("13812345678")  # a number left in the clear is not mistaken for a sealed one


@pytest.mark.parametrize("key", ["", "short", "x" * 44, "not base64 at all, but forty-four chars long!"])
def test_a_key_that_is_not_a_fernet_key_is_refused_at_start_up(key):
    with pytest.raises(ValueError, match="PERSONAL_DATA_KEYS"):
        sealing.check_key(key)


def test_empty_and_missing_values_are_stored_as_they_are(keys):
    keys["PERSONAL_DATA_KEYS"] = (NEW,)
    column = sealing.Sealed()
    assert column.process_bind_param(None, None) is None
    assert column.process_bind_param("", None) == ""
    assert column.process_result_value(column.process_bind_param("138", None), None) == "138"
