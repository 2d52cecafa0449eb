"""The work ledger's JSON API under /api: measures, tick-offs, visits and what is overdue.

Officers' phones call it (the visit form's offline queue among them); supervisors and inspectors
read it within their scope, and writing is the household's officer's or the manager's.
"""

from __future__ import annotations  # the models' names in signatures load nothing

from datetime import UTC

from flask import Blueprint

from shop.clock import business_today
from shop.extensions import db
from shop.oversight.officer_view import visible_ids
from shop.web.access import roles_required, signed_in_user
from shop.web.json_bodies import answer, models, parse
from shop.web.openapi import documented
from shop.worklog import access, due, incomes, plans, visits, warnings

bp = Blueprint("worklog_api", __name__, url_prefix="/api")


def measure_row(view: plans.MeasureView) -> models.MeasureRow:
    m, done = view.measure, view.measure.done
    return models.MeasureRow(
        id=m.id,
        kind=m.kind,
        title=m.title,
        starts_on=m.starts_on,
        due_on=m.due_on,
        status="done" if done else "open",
        done_on=done.done_on if done else None,
        evidence=done.evidence if done else None,
        done_late=done.late if done else None,
        recorded_at=m.recorded_at,
        sells_through_counter=m.sells_through_counter,
        counter_fen=view.counter_fen,
        corrects_id=m.corrects_id,
        correction_reason=m.correction_reason,
        corrected_by=view.corrected_by,
    )


def visit_row(visit, corrected_by: int | None) -> models.VisitRow:
    return models.VisitRow(
        id=visit.id,
        visited_on=visit.visited_on,
        kind=visit.kind,
        findings=visit.findings,
        risk_found=visit.risk_found,
        recorded_at=visit.recorded_at,
        device_recorded_at=visit.device_recorded_at,
        late=visit.late,
        corrects_id=visit.corrects_id,
        correction_reason=visit.correction_reason,
        corrected_by=corrected_by,
    )


@bp.get("/households/<id:household_id>/worklog")
@documented(answers={200: "Worklog"}, errors=(404,))
@roles_required(*access.READERS)
def worklog(household_id):
    """A household's measures and visits, and when its next visit is due (for its readers, within their scope)."""
    household = access.readable(db.session, signed_in_user(), household_id)
    today = business_today()
    return answer(
        models.Worklog(
            measures=[measure_row(v) for v in plans.measures_of(household.id, today)],
            visits=[visit_row(v, by) for v, by in visits.visits_of(household.id)],
            next_visit_due=visits.next_due(household),
        )
    )


@bp.post("/households/<id:household_id>/measures")
@documented(body="NewMeasure", answers={201: "Created"}, errors=(404,))
@roles_required(*access.WRITERS)
def add_measure(household_id):
    """Add a measure to a household's plan (its officer, the manager)."""
    access.readable(db.session, signed_in_user(), household_id)  # another's household is 404, whatever the body
    body = parse(models.NewMeasure)
    measure = plans.add_measure(household_id, **body.model_dump(), by=signed_in_user())
    return answer(models.Created(id=measure.id), 201)


@bp.post("/measures/<id:measure_id>/done")
@documented(body="MeasureTickedOff", answers={201: "Created"}, errors=(404, 409))
@roles_required(*access.WRITERS)
def tick_off(measure_id):
    """Tick a measure off (销号) with the day it was done and the evidence; a measure already done is 409."""
    plans.readable_measure(signed_in_user(), measure_id)
    body = parse(models.MeasureTickedOff)
    done = plans.tick_off(measure_id, done_on=body.done_on, evidence=body.evidence, by=signed_in_user())
    return answer(models.Created(id=done.id), 201)


@bp.post("/households/<id:household_id>/visits")
@documented(body="NewVisit", answers={201: "VisitCreated", 200: "VisitCreated"}, errors=(404, 409))
@roles_required(*access.WRITERS)
def record_visit(household_id):
    """Record a visit: 201, or 200 with the first answer when the phone sends the same record (client_key) again."""
    access.readable(db.session, signed_in_user(), household_id)
    body = parse(models.NewVisit)
    moment = body.device_recorded_at
    request = visits.VisitRequest(
        visited_on=body.visited_on,
        kind=body.kind,
        findings=body.findings,
        risk_found=body.risk_found,
        client_key=body.client_key,
        device_recorded_at=moment.astimezone(UTC).replace(tzinfo=None) if moment else None,
        income=tuple(incomes.IncomeLine(**line.model_dump()) for line in body.income),
    )
    visit, created = visits.record_visit(household_id, request, by=signed_in_user())
    return answer(models.VisitCreated(id=visit.id, late=visit.late), 201 if created else 200)


@bp.get("/worklog/overdue")
@documented(answers={200: "Overdue"})
@roles_required(*access.READERS)
def overdue():
    """Open measures past their deadline and households whose visit is past due, within the caller's scope."""
    scope = visible_ids(signed_in_user())
    today = business_today()
    return answer(
        models.Overdue(
            measures=[models.OverdueMeasureRow(**vars(m)) for m in due.overdue_measures(scope, today)],
            visits_due=[models.VisitDueRow(**vars(v)) for v in due.visits_due(scope, visits.cadence(), today)],
        )
    )


@bp.get("/worklog/warnings")
@documented(answers={200: "Warnings"})
@roles_required(*access.READERS)
def early_warnings():
    """Early warnings for the monitored households in the caller's scope, with the figures behind each."""
    found = warnings.warnings_in(visible_ids(signed_in_user()), business_today())
    return answer(
        models.Warnings(
            warnings=[
                models.WarningRow(
                    household_id=w.household_id,
                    code=w.code,
                    rules=list(w.rules),
                    last_30_fen=w.last_30_fen,
                    baseline_average_fen=w.baseline_average_fen,
                    month=w.month,
                    whole_per_capita_fen=w.whole_per_capita_fen,
                    line_share_fen=w.line_share_fen,
                )
                for w in found
            ]
        )
    )
