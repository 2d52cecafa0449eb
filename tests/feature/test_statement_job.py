"""The month's statements as a job over several worker processes: the same statements, and a failure loses no other."""

from datetime import datetime

import pytest

from shop.clock import business_today
from shop.extensions import db
from shop.ledger import checkpoints
from shop.models import Household
from shop.oversight import adjustments, statement_job, statement_pdf
from shop.oversight.statements import month_statement
from shop.web.urls import own_page_url, statement_url

from .test_review_pages import this_month
from .test_statements import busy_month, pdf_text, user  # noqa: F401 (busy_month is a fixture)

#: The time printed on every statement of the run, fixed so that a statement made singly prints the same.
NOW = datetime(2026, 1, 15, 4, 30)


@pytest.fixture
def two_households(app, goods, busy_month):  # noqa: F811
    """王's busy month, 符's correction this month, and a signed checkpoint so both print their proofs."""
    with app.app_context():
        proposed = adjustments.propose(
            household_id=goods["fu"], amount_fen=520, entry_date=business_today(), reason="补记", by=user("admin")
        )
        adjustments.decide(adjustment_id=proposed.id, approve=True, note="", by=user("admin2"))
        checkpoints.take_checkpoint()
    return goods


@pytest.fixture
def job(monkeypatch):
    """One household a batch, so that two households are two batches for two forked workers; a fixed clock."""
    monkeypatch.setattr(statement_job, "BATCH", 1)
    monkeypatch.setattr(statement_job, "now_utc", lambda: NOW)


def run(app, out, *more):
    return app.test_cli_runner().invoke(args=["statements", "--month", this_month(), "--out", str(out), *more])


def made_singly(app, household_id: int) -> bytes:
    """The statement as the API and the old one-at-a-time command made it."""
    with app.app_context(), app.test_request_context(base_url="http://127.0.0.1:5000"):
        statement = month_statement(db.session.get(Household, household_id), business_today().replace(day=1))
        url = statement_url(household_id, statement.month, statement.digest)
        return statement_pdf.render(statement, url, own_page_url(household_id), now=NOW)


def test_statements_made_by_two_workers_read_as_those_made_one_by_one(app, two_households, job, tmp_path):
    result = run(app, tmp_path, "--workers", "2")
    assert result.exit_code == 0, result.output
    assert "Wrote 2 statements" in result.output
    for key, code in (("wang", "DB001"), ("fu", "CT001")):
        text = pdf_text((tmp_path / f"{this_month()}_{code}.pdf").read_bytes())
        assert "账本包含证明" in text  # the batch's proofs were printed
        assert text == pdf_text(made_singly(app, two_households[key]))


def test_one_statement_failing_loses_none_of_the_others(app, two_households, job, tmp_path, monkeypatch):
    render = statement_pdf.render

    def failing(statement, *args, **kwargs):
        if statement.household.code == "DB001":
            raise RuntimeError("printer on fire")
        return render(statement, *args, **kwargs)

    monkeypatch.setattr(statement_pdf, "render", failing)
    result = run(app, tmp_path, "--workers", "2")
    assert result.exit_code == 1
    assert f"household {two_households['wang']}: RuntimeError: printer on fire" in result.output
    assert "1 of 2 statements failed" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{this_month()}_CT001.pdf"]


def test_a_batch_whose_reading_fails_is_retried_household_by_household(app, two_households, job, tmp_path, monkeypatch):
    monkeypatch.setattr(statement_job, "BATCH", 2)
    month_statements = statement_job.month_statements

    def failing(households, month):
        if any(h.code == "DB001" for h in households):
            raise RuntimeError("unreadable")
        return month_statements(households, month)

    monkeypatch.setattr(statement_job, "month_statements", failing)
    result = run(app, tmp_path, "--workers", "1")
    assert result.exit_code == 1 and "unreadable" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{this_month()}_CT001.pdf"]


@pytest.mark.parametrize("workers", ["0", "-1", "many"])
def test_a_bad_number_of_workers_is_refused(app, goods, tmp_path, workers):
    result = run(app, tmp_path / "out", "--workers", workers)
    assert result.exit_code == 2 and "--workers" in result.output
    assert not (tmp_path / "out").exists()
