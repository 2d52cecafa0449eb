"""Inspections (督查): a random sample of households to check, and a household's evidence file (一户一档).

Inspectors write nothing in the app. Drawing a sample is a POST all the same: it writes one row, the
draw's own record in the audit trail, before the sample is shown, so that a draw cannot be repeated
quietly until a convenient sample comes up. That record is the inspector's own accountability, not a
change to anyone's data, which is why a read-only role may make it.
"""

from flask import Blueprint, abort, render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, NumberRange, Optional

from shop.clock import local_time
from shop.errors import DomainError, Forbidden, NotFound
from shop.models import HouseholdCategory
from shop.web.access import roles_required, signed_in_user
from shop.web.forms import show_domain_error
from shop.web.responses import pdf_response
from shop.web.templating import label, localised
from shop.worklog import sampling
from shop.worklog.access import READERS

bp = Blueprint("admin_inspections", __name__, url_prefix="/admin/inspections")

#: Categories as the form offers them: the monitored households (监测户) first, the ones inspections look at most.
CATEGORY_ORDER = (HouseholdCategory.JIANCE, HouseholdCategory.TUOPIN, HouseholdCategory.YIBAN)


class SampleForm(FlaskForm):
    """How many households to draw, and from where."""

    size = IntegerField(
        _l("How many households"),
        default=5,
        validators=[
            InputRequired(_l("Say how many households to draw.")),
            NumberRange(sampling.MIN_SIZE, sampling.MAX_SIZE, _l("Draw between 1 and 50 households.")),
        ],
    )
    town = SelectField(_l("Town"), validators=[Optional()], validate_choice=True)
    village = SelectField(_l("Village"), validators=[Optional()], validate_choice=True)
    category = SelectField(_l("Category"), validators=[Optional()], validate_choice=True)

    def fill_choices(self, user) -> None:
        """The towns and villages of the drawer's scope; any category, monitored households first."""
        towns = sampling.towns_in_scope(user)
        self.town.choices = [SelectChoice("", _("Any town in my area"))] + [
            SelectChoice(str(t.id), localised(t)) for t in towns
        ]
        self.village.choices = [SelectChoice("", _("Any village"))] + [
            SelectChoice(str(v.id), f"{localised(v.town)} · {localised(v)}") for v in sampling.villages_in_scope(user)
        ]
        self.category.choices = [SelectChoice("", _("Any category"))] + [
            SelectChoice(c.value, label(c)) for c in CATEGORY_ORDER
        ]

    def scope(self) -> sampling.Scope:
        """The use case's scope from the chosen options; a blank choice (which Optional lets through) means "any"."""
        town, village, category = ((f.data or "").strip() for f in (self.town, self.village, self.category))
        return sampling.Scope(
            town_id=int(town) if town else None,
            village_id=int(village) if village else None,
            category=HouseholdCategory(category) if category else None,
        )


def when(utc_naive) -> str:
    """A stored instant as the counter's wall-clock time: 2026-11-05 14:05."""
    return f"{local_time(utc_naive):%Y-%m-%d %H:%M}"


def sample_page(form: SampleForm, drawn: sampling.Draw | None = None, status: int = 200):
    """The form, the draw just made (if any), and the draws made before, latest first."""
    user = signed_in_user()
    draws = sampling.draws_seen_by(user)
    body = render_template(
        "admin/inspections/index.html",
        form=form,
        drawn=drawn,
        drawn_households=sampling.drawn_households(drawn) if drawn else [],
        draws=draws,
        county_wide=user.town_id is None,
        max_size=sampling.MAX_SIZE,
        can_print=user.role in READERS,
        when=when,
        categories={c.value: label(c) for c in HouseholdCategory},
    )
    return body, status


@bp.get("/")
@roles_required(*sampling.SAMPLERS)
def index():
    """The sample form and the draws made so far."""
    form = SampleForm(formdata=None)
    form.fill_choices(signed_in_user())
    return sample_page(form)


@bp.post("/samples")
@roles_required(*sampling.SAMPLERS)
def draw():
    """Draw a sample: recorded in the audit trail, then shown."""
    user = signed_in_user()
    form = SampleForm()
    form.fill_choices(user)
    if not form.validate():
        return sample_page(form, status=422)
    try:
        drawn = sampling.draw_sample(user, form.size.data, form.scope())
    except DomainError as refusal:
        fields = {"size": "size", "town": "town", "village": "village"}
        return sample_page(form, status=show_domain_error(form, refusal, fields))
    return sample_page(form, drawn=drawn)


@bp.get("/households/<id:household_id>/file.pdf", endpoint="evidence_file")
@roles_required(*READERS)
def evidence_pdf(household_id: int):
    """A household's evidence file (一户一档) as an A4 PDF in Chinese; the printing is logged."""
    from shop.pdf.evidence_file import render_evidence_file  # reportlab: loaded by the first file printed
    from shop.worklog import evidence

    try:
        file = evidence.evidence_file(signed_in_user(), household_id)
    except NotFound:
        abort(404)
    except Forbidden:
        abort(403)
    return pdf_response(render_evidence_file(file), f"evidence-{file.household_code}.pdf")
