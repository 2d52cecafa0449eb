"""The ledger's hash chain, as pure functions: any change, insertion or removal is found."""

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from shop.ledger.chain import GENESIS, EntryKind, entry_hash, signed_amount, verify_chain


def chain(amounts):
    """A well-formed chain of credits of these amounts."""
    entries, prev = [], GENESIS
    for seq, amount in enumerate(amounts, start=1):
        entry = {
            "seq": seq,
            "household_id": 7,
            "kind": EntryKind.CREDIT,
            "amount_fen": amount,
            "entry_date": date(2026, 11, 26),
            "draw_id": seq,
            "prev_hash": prev,
        }
        entry["hash"] = prev = entry_hash(prev, entry)
        entries.append(entry)
    return entries


amounts = st.lists(st.integers(min_value=1, max_value=10**9), min_size=1, max_size=30)


@given(amounts)
def test_a_chain_written_in_order_verifies(values):
    assert verify_chain(chain(values)) is None


@given(amounts, st.data())
def test_changing_any_amount_is_found_at_that_entry(values, data):
    entries = chain(values)
    i = data.draw(st.integers(min_value=0, max_value=len(entries) - 1))
    entries[i] = {**entries[i], "amount_fen": entries[i]["amount_fen"] + 1}
    assert verify_chain(entries).seq == i + 1


@given(amounts.filter(lambda v: len(v) > 1), st.data())
def test_removing_an_entry_before_the_last_is_found(values, data):
    # (The last entry's removal leaves a shorter, valid chain: the check against the sales finds that.)
    entries = chain(values)
    i = data.draw(st.integers(min_value=0, max_value=len(entries) - 2))
    del entries[i]
    assert verify_chain(entries) is not None


def test_an_entry_slipped_in_with_its_own_hash_still_breaks_the_next_link():
    entries = chain([100, 200, 300])
    forged = {**entries[1], "amount_fen": 999}
    forged["hash"] = entry_hash(forged["prev_hash"], forged)
    entries[1] = forged
    assert verify_chain(entries).seq == 3


def test_credits_add_and_reversals_and_payouts_take_away():
    assert [signed_amount(k, 100) for k in EntryKind] == [100, -100, -100, 100]


def test_an_adjustment_carries_its_own_sign_and_cannot_be_nothing():
    assert signed_amount(EntryKind.ADJUSTMENT, -250) == -250
    for kind, amount in ((EntryKind.ADJUSTMENT, 0), (EntryKind.CREDIT, 0), (EntryKind.PAYOUT, -5)):
        try:
            signed_amount(kind, amount)
        except ValueError:
            continue
        raise AssertionError(f"{kind} of {amount} was accepted")


def test_entries_written_before_payouts_existed_keep_their_hashes():
    entry = chain([100])[0]
    assert entry_hash(GENESIS, {**entry, "payout_id": None, "adjustment_id": None}) == entry["hash"]


@given(cause=st.sampled_from(["payout_id", "adjustment_id"]), value=st.integers(1, 10**6))
def test_naming_a_later_cause_changes_the_hash_so_clearing_it_is_found(cause, value):
    entry = chain([100])[0]
    named = {**entry, cause: value}
    named["hash"] = entry_hash(GENESIS, named)
    assert named["hash"] != entry["hash"]
    cleared = {**named, cause: None}
    assert verify_chain([cleared]).seq == 1
