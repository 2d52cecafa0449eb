"""Masking of personal data for display (PIPL: show the minimum by default).

Pure functions: a name or number in, its masked form out.
"""

import re

#: Digits a note may carry that name a person: a mobile number, an ID card or a bank card.
_LONG_NUMBER = re.compile(r"[0-9]{7,}")


def mask_name(name: str) -> str:
    """Keep a name's first character and hide the rest: 王亦态 → 王**."""
    name = (name or "").strip()
    if len(name) <= 1:
        return "*" * len(name)
    return name[0] + "*" * (len(name) - 1)


def mask_phone(phone: str | None) -> str:
    """Hide the middle of a phone number: 13812345678 → 138****5678."""
    digits = (phone or "").strip()
    if not digits:
        return ""
    if len(digits) < 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_numbers_in(text: str | None) -> str:
    """Hide the middle of every run of 7 or more digits in free text (a phone, an ID or card number)."""
    return _LONG_NUMBER.sub(lambda m: mask_phone(m[0]), text or "")
