"""Personal data sealed at rest: phone numbers are stored encrypted, and read back in the clear only by the app.

A copied database file or a leaked backup then holds no phone number. The columns are `Sealed`:
the ORM encrypts on the way in and decrypts on the way out, so the app's code (and the audit
trail's masking) sees plain values. The keys are Fernet keys (AES-128-CBC with an HMAC) kept
apart from the database and from SECRET_KEY, so rotating the session secret loses nothing:
PERSONAL_DATA_KEYS, newest first, or one key generated once into the instance folder. Every
listed key decrypts; the first encrypts. `flask --app shop personal-data rotate` re-seals every
value under the first key, after which the old keys can be dropped.

A sealed value cannot be compared in SQL (each encryption differs), so an order keeps the last
four digits of its phone beside it for the counter's search, and a lookup by number and phone
reads the order by its number and compares the phone in Python.
"""

import os
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app


class SealBroken(RuntimeError):
    """A sealed value that none of the configured keys opens: a key is missing, or the value was altered."""


def instance_key_path(instance_path: str) -> Path:
    """Where the key generated for an installation without PERSONAL_DATA_KEYS is kept."""
    return Path(instance_path) / "personal_data_key"


def stored_instance_key(instance_path: str) -> str | None:
    """The key kept in instance/, if one was generated or put there."""
    path = instance_key_path(instance_path)
    return path.read_text().strip() if path.exists() else None


def instance_key(instance_path: str) -> str:
    """The personal-data key generated once into instance/ (when PERSONAL_DATA_KEYS is not set)."""
    return key_written_once(instance_key_path(instance_path), lambda: Fernet.generate_key().decode())


def key_written_once(path: Path, make: Callable[[], str]) -> str:
    """The key kept at path, made and written there (owner-only) by whoever comes first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: when several workers start at once, exactly one writes the key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(make())
    return path.read_text().strip()


def check_key(key: str) -> None:
    """Refuse, at start-up, a key that is not a Fernet key (32 bytes, URL-safe base64)."""
    try:
        Fernet(key.encode())
    except (ValueError, TypeError):
        raise ValueError("PERSONAL_DATA_KEYS: each key must be a Fernet key (Fernet.generate_key())") from None


@lru_cache(maxsize=8)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def _keys() -> MultiFernet:
    """The app's keys, newest first."""
    return _fernet(tuple(current_app.config["PERSONAL_DATA_KEYS"]))


def seal(value: str) -> str:
    """Encrypt a value under the newest key."""
    return _keys().encrypt(value.encode()).decode("ascii")


def unseal(token: str) -> str:
    """Decrypt a value sealed under any of the keys."""
    try:
        return _keys().decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeError) as error:
        raise SealBroken("a sealed value does not open with the configured PERSONAL_DATA_KEYS") from error


def reseal(token: str) -> str:
    """The same value sealed under the newest key."""
    try:
        return _keys().rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeError) as error:
        raise SealBroken("a sealed value does not open with the configured PERSONAL_DATA_KEYS") from error


class Sealed(sa.types.TypeDecorator):
    """A text column stored encrypted; an empty string and NULL are stored as they are."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return seal(value) if value else value

    def process_result_value(self, value, dialect):
        return unseal(value) if value else value


#: Every sealed column, as (table, id column, sealed column).
SEALED_COLUMNS = (
    ("household", "id", "phone"),
    ("shop_order", "id", "contact_phone"),
    ("household_link", "id", "token"),
)


def rotate_all(connection) -> int:
    """Re-seal every sealed value under the newest key, in the caller's transaction; how many were re-sealed."""
    count = 0
    for table_name, key, column in SEALED_COLUMNS:
        table = sa.table(table_name, sa.column(key), sa.column(column))
        rows = connection.execute(sa.select(table.c[key], table.c[column]).where(table.c[column] != "")).all()
        for row_id, token in rows:
            connection.execute(table.update().where(table.c[key] == row_id).values({column: reseal(token)}))
            count += 1
    return count


#: How every Fernet token begins (its version byte and the high bytes of its timestamp); no phone number does.
TOKEN_PREFIX = "gAAAAA"


class KeysDoNotOpen(RuntimeError):
    """The database holds sealed values the configured keys cannot open: serving would answer 500s."""


def sample_tokens(connection) -> list[str]:
    """One sealed value of each sealed column that holds any; none before the tables exist."""
    inspector = sa.inspect(connection)
    tokens = []
    for table_name, _key, column in SEALED_COLUMNS:
        if not inspector.has_table(table_name):
            continue
        table = sa.table(table_name, sa.column(column))
        query = sa.select(table.c[column]).where(table.c[column].like(TOKEN_PREFIX + "%")).limit(1)
        if token := connection.execute(query).scalar():
            tokens.append(token)
    return tokens


def keys_fault(connection, keys: tuple[str, ...], instance_path: str) -> str | None:
    """Why the database's sealed values cannot be read with `keys`, or None when they can (or there are none)."""
    tokens = sample_tokens(connection)
    if not tokens:
        return None
    where = f"PERSONAL_DATA_KEYS or {instance_key_path(instance_path)}"
    if not keys:
        return (
            "The database holds sealed phone numbers but no personal-data key is configured, so none was "
            f"generated (a new key would not open them). Put the key they were sealed with in {where}: "
            "the key of the installation the database came from, from its key backup."
        )
    try:
        for token in tokens:
            _fernet(tuple(keys)).decrypt(token.encode("ascii"))
    except InvalidToken:
        return (
            "The database holds phone numbers sealed under a key this installation does not have. "
            f"Put the key they were sealed with in {where} (first, or after the current key): the key of "
            "the installation the database came from, from its key backup. The app will not start until then."
        )
    return None
