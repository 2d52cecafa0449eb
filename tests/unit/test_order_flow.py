"""The life of an online order as a state machine, tested move by move."""

import itertools

import pytest

from shop.selling.order_flow import (
    ALLOWED,
    PAID_STATUSES,
    OrderStatus,
    TransitionNotAllowed,
    after_refund,
    move,
    staff_moves,
)

S = OrderStatus
EVERY_MOVE = list(itertools.product(S, S))


@pytest.mark.parametrize("current, target", [(c, t) for c, t in EVERY_MOVE if t in ALLOWED[c]])
def test_an_allowed_move_lands_where_it_was_asked(current, target):
    assert move(current, target) is target


@pytest.mark.parametrize("current, target", [(c, t) for c, t in EVERY_MOVE if t not in ALLOWED[c]])
def test_every_other_move_is_refused(current, target):
    with pytest.raises(TransitionNotAllowed):
        move(current, target)


def test_money_once_in_never_goes_back_to_waiting_for_it():
    for status in PAID_STATUSES:
        assert S.AWAITING_PAYMENT not in ALLOWED[status]
        assert S.CANCELLED not in ALLOWED[status] and S.EXPIRED not in ALLOWED[status]


def test_a_refunded_order_is_final():
    assert ALLOWED[S.REFUNDED] == frozenset()


def test_money_for_a_lapsed_order_is_either_kept_with_the_goods_or_given_back():
    assert ALLOWED[S.EXPIRED] == {S.PAID, S.COLLECTED, S.REFUNDED}
    assert ALLOWED[S.CANCELLED] == {S.REFUNDED}


def test_staff_pack_then_ship_a_delivery_or_hand_over_a_pickup():
    assert staff_moves(S.PAID, delivery=True) == [S.PACKED, S.SHIPPED]
    assert staff_moves(S.PACKED, delivery=True) == [S.SHIPPED]
    assert staff_moves(S.PACKED, delivery=False) == [S.COLLECTED]
    assert staff_moves(S.AWAITING_PAYMENT, delivery=False) == [S.COLLECTED]
    assert staff_moves(S.COLLECTED, delivery=False) == []


def test_refunds_leave_an_order_partly_or_wholly_refunded():
    assert after_refund(3400, 6800) is S.PARTIALLY_REFUNDED
    assert after_refund(6800, 6800) is S.REFUNDED
