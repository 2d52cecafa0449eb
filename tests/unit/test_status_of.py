"""The one mapping from a domain error's kind to its HTTP status."""

import importlib
import pkgutil

import pytest

import shop
from shop.errors import Conflict, DomainError, Forbidden, Invalid, NotFound, TooMany
from shop.web.responses import STATUS_OF, status_of

#: What each kind promises in its docstring (shop/errors.py).
PROMISED = {Invalid: 422, Conflict: 409, NotFound: 404, Forbidden: 403, TooMany: 429}


def every_domain_error() -> list[type[DomainError]]:
    """Every DomainError class the app defines, found by importing each of shop's modules."""
    for module in pkgutil.walk_packages(shop.__path__, "shop."):
        if ".migrations" not in module.name:
            importlib.import_module(module.name)
    found, todo = [], [DomainError]
    while todo:
        for sub in todo.pop().__subclasses__():
            found.append(sub)
            todo.append(sub)
    return found


@pytest.mark.parametrize("kind, status", PROMISED.items(), ids=lambda v: getattr(v, "__name__", str(v)))
def test_each_kind_has_the_status_its_docstring_promises(kind, status):
    assert status_of(kind("refused")) == status
    assert f"HTTP {status}" in kind.__doc__


def test_every_kind_is_mapped():
    assert set(STATUS_OF) == {sub for sub in DomainError.__subclasses__() if sub.__module__ == "shop.errors"}


@pytest.mark.parametrize("error", every_domain_error(), ids=lambda cls: f"{cls.__module__}.{cls.__name__}")
def test_every_named_error_answers_the_status_of_its_kind(error):
    kind = next((base for base in PROMISED if issubclass(error, base)), None)
    if kind is None:
        # Only the backup commands raise an error of no kind; no page or API call can meet it.
        assert error.__module__ == "shop.ops.backups"
        return
    assert status_of(error.__new__(error)) == PROMISED[kind]


def test_the_payment_service_not_answering_is_a_conflict():
    from shop.selling.payments import PaymentUnavailable

    assert status_of(PaymentUnavailable("The payment service did not answer. Please try again.")) == 409


def test_an_error_of_no_kind_is_the_servers_fault():
    assert status_of(DomainError("a bug")) == 500
