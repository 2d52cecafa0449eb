"""Check a proof from the Bangfu Counter's household ledger, without its database or its software.

    python proof_checker.py proof.json checkpoints.json --key key.json
    python proof_checker.py consistency.json kept.json --key keys.json

proof.json is what `flask ledger prove SEQ` prints (or a statement or the household's page gives):
the entry's hash (the leaf), its seq, and the audit path to a checkpoint of `tree_size` entries.
checkpoints.json is the published list, GET /ledger/checkpoints.json, best a copy kept on your own
machine; key.json is GET /ledger/key or GET /ledger/keys.json. The checker finds the checkpoint
of the proof's size in that list, checks its Ed25519 signature with the published key, and checks
the audit path (RFC 9162 §2.1.3.2) leads from the leaf to its root. Exit 0: it checks out; 1: it
does not, with the reason; 2: the files cannot be read.

The second form checks that the ledger only grew: consistency.json is GET
/ledger/consistency/<old>/<new>.json, kept.json the checkpoints you kept earlier. The checker
requires the old checkpoint to be one you kept (same size, same root), checks both signatures, and
checks the consistency path (RFC 9162 §2.1.4.2) shows the old tree is the start of the new one, so
nothing behind the old checkpoint was rewritten.

This one file needs only Python's standard library and `cryptography` (for the signature).

The signed message is SIGNED_PREFIX, then seq, root (hex) and signed_at, each on its own line
with a final newline, in UTF-8 (see `message`).
"""

import base64
import binascii
import hashlib
import json
import sys
from dataclasses import dataclass

#: The first line of every signed checkpoint message: names what is signed, so the signature means nothing else.
SIGNED_PREFIX = "bangfu-ledger-checkpoint/v1"

#: The longest audit path a tree of 2**63 entries can have.
MAX_PATH = 64

#: The tree head with no leaves: SHA-256 of nothing.
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(leaf: bytes) -> bytes:
    """MTH of one leaf: SHA-256(0x00 || leaf)."""
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """An interior node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_inclusion(leaf: bytes, index: int, size: int, path: list[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2: whether the path takes the leaf at index (from 0) to the root of a tree of size."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf_hash(leaf)
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, path: list[bytes]) -> bool:
    """RFC 9162 §2.1.4.2: whether the path shows the tree of old_size is the start of the tree of new_size."""
    if not 0 <= old_size <= new_size:
        return False
    if old_size == new_size:
        return not path and old_root == new_root
    if old_size == 0:
        return not path
    if not path:
        return False
    if old_size & (old_size - 1) == 0:
        path = [old_root, *path]
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == old_root and sr == new_root and sn == 0


def message(seq: int, root: str, signed_at: str) -> bytes:
    """The exact bytes a checkpoint's signature covers."""
    return f"{SIGNED_PREFIX}\n{seq}\n{root}\n{signed_at}\n".encode()


def key_id_of(public_key: bytes) -> str:
    """A public key's id: the first 16 hex digits of SHA-256 of the raw 32-byte key."""
    return hashlib.sha256(public_key).hexdigest()[:16]


def raw_public_key(public_key) -> bytes:
    """The raw 32 bytes of a cryptography Ed25519 public key."""
    from cryptography.hazmat.primitives import serialization

    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


class Unreadable(ValueError):
    """A proof, checkpoint or key that is not in the published shape."""


def _hex32(value, what: str) -> bytes:
    if not isinstance(value, str) or len(value) != 64:
        raise Unreadable(f"{what} must be 64 hex digits")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise Unreadable(f"{what} must be 64 hex digits") from None


def _count(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
        raise Unreadable(f"{what} must be a whole number")
    return value


def _b64(value, what: str, length: int) -> bytes:
    try:
        raw = base64.b64decode(value, validate=True) if isinstance(value, str) else b""
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != length:
        raise Unreadable(f"{what} must be {length} bytes in base64")
    return raw


@dataclass(frozen=True)
class Checkpoint:
    """A published checkpoint, read."""

    seq: int
    root: bytes
    signed_at: str
    key_id: str
    signature: bytes

    @classmethod
    def read(cls, data) -> "Checkpoint":
        """A checkpoint from its JSON object; Unreadable if it is not one."""
        if not isinstance(data, dict):
            raise Unreadable("a checkpoint must be an object")
        signed_at, key_id = data.get("signed_at"), data.get("key_id")
        if not isinstance(signed_at, str) or not 0 < len(signed_at) <= 40:
            raise Unreadable("signed_at must be a time")
        if not isinstance(key_id, str) or len(key_id) != 16:
            raise Unreadable("key_id must be 16 hex digits")
        return cls(
            _count(data.get("seq"), "seq"),
            _hex32(data.get("root"), "root"),
            signed_at,
            key_id,
            _b64(data.get("signature"), "signature", 64),
        )

    def message(self) -> bytes:
        """What its signature covers."""
        return message(self.seq, self.root.hex(), self.signed_at)


def read_keys(data) -> dict[str, bytes]:
    """Public keys by id, from GET /ledger/key (one object) or /ledger/keys.json (a list)."""
    items = data if isinstance(data, list) else [data]
    keys = {}
    for item in items:
        if not isinstance(item, dict):
            raise Unreadable("a key must be an object")
        raw = _b64(item.get("public_key"), "public_key", 32)
        keys[key_id_of(raw)] = raw
    return keys


def signature_holds(checkpoint: Checkpoint, keys: dict[str, bytes]) -> bool:
    """Whether the checkpoint is signed by the published key it names."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    raw = keys.get(checkpoint.key_id)
    if raw is None:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(raw).verify(checkpoint.signature, checkpoint.message())
    except InvalidSignature:
        return False
    return True


@dataclass(frozen=True)
class Verdict:
    """Whether a proof checks out: ok, a short code for the reason, and the reason in words."""

    ok: bool
    code: str
    reason: str


def check(proof, checkpoints, keys) -> Verdict:
    """Check a proof (parsed JSON) against published checkpoints (a list, or None to use the proof's own) and keys."""
    try:
        return _check(proof, checkpoints, read_keys(keys))
    except Unreadable as error:
        return Verdict(False, "unreadable", f"cannot be read: {error}")


def _check(proof, checkpoints, keys: dict[str, bytes]) -> Verdict:
    if not isinstance(proof, dict):
        raise Unreadable("the proof must be an object")
    if "consistency_path" in proof:
        return _check_extension(proof, checkpoints, keys)
    seq, leaf = _count(proof.get("seq"), "seq"), _hex32(proof.get("leaf"), "leaf")
    if proof.get("checkpoint") is None:
        return Verdict(False, "not_yet", f"entry {seq} is not in a checkpoint yet")
    cited = Checkpoint.read(proof["checkpoint"])
    path = proof.get("audit_path")
    if not isinstance(path, list) or len(path) > MAX_PATH:
        raise Unreadable(f"audit_path must be a list of at most {MAX_PATH} hashes")
    path = [_hex32(node, "each hash of audit_path") for node in path]
    if checkpoints is not None:
        if not isinstance(checkpoints, list):
            raise Unreadable("the checkpoints must be a list")
        published = [Checkpoint.read(item) for item in checkpoints]
        same = [c for c in published if c.seq == cited.seq]
        if not same:
            return Verdict(False, "not_published", f"no published checkpoint covers {cited.seq} entries")
        cited = same[0]
    if not signature_holds(cited, keys):
        return Verdict(False, "bad_signature", f"checkpoint {cited.seq} is not signed by a published key")
    if not verify_inclusion(leaf, seq - 1, cited.seq, path, cited.root):
        return Verdict(False, "not_included", f"entry {seq} is not in checkpoint {cited.seq} as given")
    return Verdict(True, "ok", f"entry {seq} is in checkpoint {cited.seq}, signed by key {cited.key_id}")


def _check_extension(proof: dict, kept, keys: dict[str, bytes]) -> Verdict:
    """Whether the new checkpoint extends one the reader kept, both signed by published keys."""
    old, new = Checkpoint.read(proof.get("old")), Checkpoint.read(proof.get("new"))
    path = proof.get("consistency_path")
    if not isinstance(path, list) or len(path) > 2 * MAX_PATH:
        raise Unreadable(f"consistency_path must be a list of at most {2 * MAX_PATH} hashes")
    path = [_hex32(node, "each hash of consistency_path") for node in path]
    if kept is not None:
        if not isinstance(kept, list):
            raise Unreadable("the checkpoints must be a list")
        same = [c for c in (Checkpoint.read(item) for item in kept) if c.seq == old.seq]
        if not same or same[0].root != old.root:
            return Verdict(False, "not_kept", f"checkpoint {old.seq} is not the one kept")
    for checkpoint in (old, new):
        if not signature_holds(checkpoint, keys):
            return Verdict(False, "bad_signature", f"checkpoint {checkpoint.seq} is not signed by a published key")
    if not verify_consistency(old.seq, new.seq, old.root, new.root, path):
        return Verdict(False, "not_extended", f"checkpoint {new.seq} does not extend checkpoint {old.seq}")
    return Verdict(
        True, "extends", f"checkpoint {new.seq} extends checkpoint {old.seq}: nothing before it was rewritten"
    )


def main(argv: list[str]) -> int:
    """Run from the command line; the exit code says the verdict."""
    args, key_file = list(argv), None
    if "--key" in args:
        at = args.index("--key")
        key_file = args[at + 1] if at + 1 < len(args) else None
        del args[at : at + 2]
    if len(args) not in (1, 2) or key_file is None:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    try:
        proof = _load(args[0])
        checkpoints = _load(args[1]) if len(args) == 2 else None
        keys = _load(key_file)
    except (OSError, ValueError) as error:
        print(f"Cannot read the files: {error}", file=sys.stderr)
        return 2
    verdict = check(proof, checkpoints, keys)
    print(("OK: " if verdict.ok else "DOES NOT CHECK OUT: ") + verdict.reason)
    return 0 if verdict.ok else 1


def _load(name: str):
    with open(name, encoding="utf-8") as f:
        return json.load(f)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
