"""The key that signs the ledger's checkpoints: Ed25519, kept outside the database.

LEDGER_SIGNING_KEYS (the setting or the environment variable): private keys as 64 hex digits (the raw
32-byte Ed25519 seed), comma-separated, newest first; the first signs. Without it, one key is
generated once into the instance folder (instance/ledger_signing_key), like the personal-data key.
Rotation: put a new key first; the old one's public key stays published in the database (LedgerKey),
so the checkpoints it signed still verify.
"""

import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import current_app

from shop.ledger import proof_checker
from shop.sealing import key_written_once


def instance_key_path(instance_path: str) -> Path:
    """Where the key generated for an installation without LEDGER_SIGNING_KEYS is kept."""
    return Path(instance_path) / "ledger_signing_key"


def _instance_key(instance_path: str) -> str:
    """The signing key generated once into instance/."""
    return key_written_once(instance_key_path(instance_path), lambda: os.urandom(32).hex())


def private_key(text: str) -> Ed25519PrivateKey:
    """A key from its 64 hex digits; ValueError if it is not one."""
    try:
        seed = bytes.fromhex(text.strip())
    except ValueError:
        seed = b""
    if len(seed) != 32:
        raise ValueError("LEDGER_SIGNING_KEYS: each key must be 64 hex digits (32 random bytes)")
    return Ed25519PrivateKey.from_private_bytes(seed)


def signing_keys() -> list[Ed25519PrivateKey]:
    """The configured keys, newest first (one generated into instance/ when none is configured)."""
    configured = current_app.config.get("LEDGER_SIGNING_KEYS") or os.environ.get("LEDGER_SIGNING_KEYS", "")
    if isinstance(configured, str):
        configured = [k for k in configured.split(",") if k.strip()]
    if not configured:
        configured = [_instance_key(current_app.instance_path)]
    return [private_key(text) for text in configured]


def public_bytes(key: Ed25519PrivateKey) -> bytes:
    """The raw 32-byte public key."""
    return proof_checker.raw_public_key(key.public_key())


def key_id(key: Ed25519PrivateKey) -> str:
    """The key's published id: the first 16 hex digits of SHA-256 of its raw public key."""
    return proof_checker.key_id_of(public_bytes(key))
