"""A household's evidence file (一户一档): everything an inspector checks, gathered and worded in Chinese.

The file is printed for whoever may read the household's work ledger (shop.worklog.access.readable:
the household's officer, the manager, and the supervisors and inspectors of its town or the county),
and every printing is written to the audit trail, as any view of a household's file is. Names are
masked for everyone: the file is carried about on paper.

The counter's income is the ledger's own figure (shop.oversight.income.income_picture); the
household's declared income is listed apart, as the officers recorded it, and the whole income per
person (shop.worklog.household_income) sets the two side by side against the line, each part labelled.
"""

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from shop import audit
from shop.clock import business_today, local_time, now_utc
from shop.extensions import db
from shop.models import (
    AuditEvent,
    DeclaredIncome,
    Household,
    HouseholdCategory,
    Measure,
    MeasureDone,
    MonitoringStatus,
    MonitorSubtype,
    ReviewOutcome,
    User,
    Visit,
)
from shop.money import format_fen
from shop.oversight.income import income_picture
from shop.oversight.monitoring import TRAILING_MONTHS, month_start, months_ending
from shop.oversight.reviews import changed_since_confirmed, reviews_of
from shop.oversight.statements import month_statement
from shop.pdf.evidence_file import EvidenceFile, FileSection
from shop.pdf.report import ReportTable
from shop.transaction import atomic
from shop.villages.households import history_of
from shop.worklog import access, incomes, plans, visits
from shop.worklog.household_income import whole_income
from shop.worklog.rules import DEDUCTED, IncomeSource, MeasureKind, VisitKind

#: The audit events of the household itself the file lists, newest first.
AUDIT_EVENTS_SHOWN = 200

CATEGORY = {HouseholdCategory.TUOPIN: "脱贫户", HouseholdCategory.JIANCE: "监测户", HouseholdCategory.YIBAN: "一般农户"}
SUBTYPE = {
    MonitorSubtype.UNSTABLE: "脱贫不稳定户",
    MonitorSubtype.MARGINAL: "边缘易致贫户",
    MonitorSubtype.SUDDEN: "突发严重困难户",
}
MONITORING = {MonitoringStatus.IDENTIFIED: "监测中", MonitoringStatus.RISK_ELIMINATED: "风险已消除"}
MEASURE_KIND = {
    MeasureKind.INDUSTRY: "产业帮扶",
    MeasureKind.EMPLOYMENT: "就业帮扶",
    MeasureKind.SAFETY_NET: "兜底保障",
    MeasureKind.EDUCATION: "教育帮扶",
    MeasureKind.MEDICAL: "医疗帮扶",
    MeasureKind.HOUSING: "住房保障",
    MeasureKind.OTHER: "其他",
}
MEASURE_STATUS = {"open": "未完成", "done": "已完成", "corrected": "已更正（作废）"}
VISIT_KIND = {VisitKind.HOME: "入户走访", VisitKind.PHONE: "电话回访"}
INCOME_SOURCE = {
    IncomeSource.WAGES: "工资性收入",
    IncomeSource.BUSINESS: "经营性收入",
    IncomeSource.TRANSFER: "转移性收入",
    IncomeSource.PROPERTY: "财产性收入",
    IncomeSource.MEDICAL_COST: "医疗支出（扣减）",
    IncomeSource.EDUCATION_COST: "教育支出（扣减）",
    IncomeSource.OTHER_COST: "其他刚性支出（扣减）",
}
OUTCOME = {ReviewOutcome.CONFIRMED: "确认无误", ReviewOutcome.DISPUTED: "有异议"}
ACTION = {
    audit.INSERT: "新增",
    audit.UPDATE: "修改",
    audit.DELETE: "删除",
    audit.VIEW_PERSONAL_DATA: "查看完整个人信息",
    audit.EVIDENCE_FILE: "打印一户一档",
}
LATE = "补录"


def _who(user: User | None) -> str:
    """A staff member as the file names them: display name and username."""
    if user is None:
        return "系统"
    return f"{user.display_name}（{user.username}）" if user.display_name else user.username


def _at(utc_naive: datetime | None) -> str:
    """A stored instant in the counter's time: 2026-11-05 14:05."""
    return f"{local_time(utc_naive):%Y-%m-%d %H:%M}" if utc_naive else "—"


def _day(day: date | None) -> str:
    return day.isoformat() if day else "—"


def _month(month: date) -> str:
    return f"{month.year}年{month.month}月"


def _standing(category, subtype, status) -> str:
    """A household's category, with its subtype and monitoring status when it is monitored."""
    parts = [CATEGORY.get(category, str(category))]
    if subtype is not None:
        parts.append(SUBTYPE.get(subtype, str(subtype)))
    if status is not None:
        parts.append(MONITORING.get(status, str(status)))
    return " · ".join(parts)


def _particulars(household: Household) -> tuple[tuple[str, str], ...]:
    village = household.village
    return (
        ("户编码", household.code),
        ("户主", household.head_name_masked),
        ("所在镇村", f"{village.town.name_zh} {village.name_zh}"),
        ("家庭人口", f"{household.members} 人"),
        ("户类别", _standing(household.category, household.monitor_subtype, household.monitoring_status)),
        ("帮扶责任人", _who(household.officer) if household.officer else "未指定"),
        ("联系电话", household.phone_masked or "—"),
        ("建档时间", _at(household.created_at)),
    )


def _statuses(household: Household) -> FileSection:
    statuses, _changes = history_of(household.id)
    rows = tuple(
        (
            _day(s.effective_on),
            _standing(s.category, s.monitor_subtype, s.monitoring_status),
            s.note or "—",
            _who(s.recorded_by),
            _at(s.recorded_at),
        )
        for s in statuses
    )
    columns = ("生效日期", "身份", "说明", "记录人", "录入时间")
    return FileSection(ReportTable("一、身份变化记录", columns, rows, (False,) * 5))


def _measures(household: Household, today: date) -> FileSection:
    rows = []
    for view in reversed(plans.measures_of(household.id, today)):
        m, done = view.measure, view.measure.done
        status = MEASURE_STATUS[view.status]
        if view.overdue(today):
            status += "（已逾期）"
        done_text = "—"
        if done is not None:
            done_text = f"{_day(done.done_on)}\n{done.evidence}"
            if done.late:
                done_text += f"\n【{LATE}】录入于 {_at(done.recorded_at)}"
        if view.counter_fen is not None:
            done_text += f"\n专柜收入佐证 {format_fen(view.counter_fen)}"
        note = f"更正第 {m.corrects_id} 号：{m.correction_reason}" if m.corrects_id else ""
        if view.corrected_by:
            note = "\n".join(p for p in (note, f"已被第 {view.corrected_by} 号更正") if p)
        rows.append(
            (
                str(m.id),
                MEASURE_KIND.get(m.kind, str(m.kind)),
                m.title,
                f"{_day(m.starts_on)}至\n{_day(m.due_on)}",
                status,
                done_text,
                note or "—",
            )
        )
    columns = ("编号", "类型", "措施内容", "期限", "状态", "完成情况与佐证", "更正")
    note = f"完成情况录入晚于完成日期 7 天以上的，标注【{LATE}】。"
    return FileSection(ReportTable("二、帮扶计划与措施（一户一策）", columns, tuple(rows), (False,) * 7), note)


def _visits(household: Household) -> FileSection:
    rows = []
    for v, corrected_by in reversed(visits.visits_of(household.id)):
        late = f"【{LATE}】" if v.late else ""
        recorded = f"录入 {_at(v.recorded_at)}"
        if v.device_recorded_at:
            recorded += f"\n手机记录 {_at(v.device_recorded_at)}"
        note = f"更正第 {v.corrects_id} 号：{v.correction_reason}" if v.corrects_id else ""
        if corrected_by:
            note = "\n".join(p for p in (note, f"已被第 {corrected_by} 号更正") if p)
        rows.append(
            (
                str(v.id),
                f"{_day(v.visited_on)}{late}",
                VISIT_KIND.get(v.kind, str(v.kind)),
                v.findings,
                "发现风险" if v.risk_found else "未发现",
                f"{_who(v.recorded_by)}\n{recorded}",
                note or "—",
            )
        )
    columns = ("编号", "走访日期", "方式", "走访情况", "风险", "记录人与时间", "更正")
    note = f"录入时间晚于走访日期 7 天以上的，标注【{LATE}】；“手机记录”为离线时手机上记下的时间。"
    return FileSection(ReportTable("三、走访记录", columns, tuple(rows), (False,) * 7), note)


def _counter_income(household: Household, today: date) -> FileSection:
    picture = income_picture(household, today)
    line = picture.line
    rows = tuple(
        (_month(month), format_fen(net), format_fen(share), format_fen(line.monthly_fen))
        for (month, net), (_m, share) in zip(picture.months, picture.per_capita, strict=True)
    )
    evidence = picture.evidence
    note = (
        f"监测线 {line.year} 年人均 {format_fen(line.annual_fen)}（每月 {format_fen(line.monthly_fen)}）；"
        f"近 12 个完整月专柜收入人均 {format_fen(evidence.trailing_per_capita_fen)}；"
        f"前 {evidence.required} 个完整月中 {evidence.months_above} 个月人均不低于月监测线"
        f"{'' if evidence.complete else '（记录不足）'}。专柜收入只是家庭收入的一部分，仅作佐证。"
    )
    columns = ("月份", "专柜净收入", "人均", "月监测线")
    numeric = (False, True, True, True)
    return FileSection(ReportTable("四、专柜收入与监测线（近 12 个月及本月）", columns, rows, numeric), note)


def _declared(household: Household) -> FileSection:
    rows = []
    for row, corrected_by in incomes.declared_of(household.id):
        sign = "-" if row.source in DEDUCTED else ""
        state = f"已被第 {corrected_by} 号更正" if corrected_by else "有效"
        if row.corrects_id:
            state += f"\n更正第 {row.corrects_id} 号：{row.correction_reason}"
        rows.append(
            (
                str(row.id),
                INCOME_SOURCE.get(row.source, str(row.source)),
                f"{sign}{format_fen(row.amount_fen)}",
                f"{_day(row.period_start)}至\n{_day(row.period_end)}",
                row.how_checked,
                state,
                f"{_who(row.recorded_by)}\n{_at(row.recorded_at)}",
            )
        )
    columns = ("编号", "来源", "金额", "期间", "核实方式", "状态", "记录人与时间")
    numeric = (False, False, True, False, False, False, False)
    note = "帮扶责任人核实登记的其他收入与刚性支出，与专柜收入分列，不相加。"
    return FileSection(ReportTable("五、申报收入", columns, tuple(rows), numeric), note)


def _whole_income(household: Household, today: date) -> FileSection:
    whole = whole_income(household, today)
    rows = []
    for m in whole.months:
        declared = "未申报" if m.declared_per_capita_fen is None else format_fen(m.declared_per_capita_fen)
        share = m.per_capita_fen
        verdict = "—" if m.above is None else ("不低于" if m.above else "低于")
        rows.append(
            (
                _month(m.month),
                format_fen(m.verified_per_capita_fen),
                declared,
                "—" if share is None else format_fen(share),
                format_fen(m.line_fen),
                verdict,
            )
        )
    steady = whole.steady
    note = (
        f"人均 = （专柜净收入【核实，来自台账】+ 申报收入 - 刚性支出【申报】）÷ 家庭人口。"
        f"前 {steady.required} 个完整月中 {steady.months_above} 个月人均不低于月监测线；"
        f"{len(whole.undeclared)} 个月未申报，视为证据不足，不按零计。"
    )
    columns = ("月份", "核实：专柜", "申报（净）", "全部人均", "月监测线", "对比")
    numeric = (False, True, True, True, True, False)
    return FileSection(ReportTable("六、全部收入人均与监测线（近 6 个完整月）", columns, tuple(rows), numeric), note)


def _statements(household: Household, today: date) -> FileSection:
    rows = []
    for month in months_ending(month_start(today), TRAILING_MONTHS):
        statement = month_statement(household, month)
        if not statement.lines and statement.review is None and statement.opening_balance_fen == 0:
            continue
        review = statement.review
        checked = "未核对"
        if review is not None:
            checked = f"{OUTCOME[review.outcome]}\n{_who(review.reviewed_by)} {_at(review.reviewed_at)}"
            if statement.changed_since_confirmed:
                checked += "\n（确认后已被改动）"
            elif not statement.confirmed_as_shown and review.outcome is ReviewOutcome.CONFIRMED:
                checked += "\n（确认后账目有变动）"
        rows.append(
            (
                _month(month),
                format_fen(statement.income_fen),
                format_fen(statement.paid_out_fen),
                format_fen(statement.closing_balance_fen),
                checked,
            )
        )
    columns = ("月份", "收入", "已支付", "期末余额", "核对")
    numeric = (False, True, True, True, False)
    return FileSection(ReportTable("七、月度对账单（近 12 个月）", columns, tuple(rows), numeric))


def _reviews(household: Household) -> FileSection:
    rows = []
    every = reviews_of(household.id)
    changed = changed_since_confirmed(every)
    for review in every:
        resolved = "—"
        if review.resolved_at is not None:
            resolved = f"{review.resolution}\n{_who(review.resolved_by)} {_at(review.resolved_at)}"
        rows.append(
            (
                _month(review.month),
                OUTCOME[review.outcome] + ("\n（确认后已被改动）" if review.id in changed else ""),
                review.note or "—",
                f"{_who(review.reviewed_by)}\n{_at(review.reviewed_at)}",
                resolved,
            )
        )
    columns = ("月份", "结论", "说明", "核对人与时间", "处理结果")
    return FileSection(ReportTable("八、月度核对记录", columns, tuple(rows), (False,) * 5))


def _work_trail(household: Household) -> FileSection:
    """Every work-ledger record of the household, in the order the server received them."""
    hid = household.id
    entries = []
    for m in db.session.scalars(sa.select(Measure).where(Measure.household_id == hid)):
        entries.append((m.recorded_at, m.recorded_by_id, f"措施第 {m.id} 号：{'更正' if m.corrects_id else '新增'}"))
    done = sa.select(MeasureDone).join(MeasureDone.measure).where(Measure.household_id == hid)
    for d in db.session.scalars(done):
        entries.append((d.recorded_at, d.recorded_by_id, f"措施第 {d.measure_id} 号：登记完成（{_day(d.done_on)}）"))
    for v in db.session.scalars(sa.select(Visit).where(Visit.household_id == hid)):
        entries.append((v.recorded_at, v.recorded_by_id, f"走访第 {v.id} 号（{_day(v.visited_on)}）"))
    for r in db.session.scalars(sa.select(DeclaredIncome).where(DeclaredIncome.household_id == hid)):
        entries.append((r.recorded_at, r.recorded_by_id, f"申报收入第 {r.id} 号"))
    users = {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_({e[1] for e in entries})))}
    entries.sort(key=lambda e: e[0])
    rows = tuple((_at(at), _who(users.get(by)), what) for at, by, what in entries)
    columns = ("服务器时间", "记录人", "记录")
    return FileSection(ReportTable("九、台账记录留痕（谁在何时记录）", columns, rows, (False,) * 3))


def _audit_trail(household: Household) -> FileSection:
    """The audit trail's events on the household itself: changes to its record, full-data views, printings."""
    query = (
        sa.select(AuditEvent)
        .where(AuditEvent.entity == Household.__tablename__, AuditEvent.entity_id == str(household.id))
        .options(selectinload(AuditEvent.actor))
        .order_by(AuditEvent.id.desc())
        .limit(AUDIT_EVENTS_SHOWN)
    )
    rows = tuple((_at(e.at), _who(e.actor), ACTION.get(e.action, e.action)) for e in db.session.scalars(query))
    columns = ("时间", "操作人", "操作")
    note = f"本户档案的审计记录，最近 {AUDIT_EVENTS_SHOWN} 条，新的在前。"
    return FileSection(ReportTable("十、审计记录", columns, rows, (False,) * 3), note)


def evidence_file(user: User, household_id: int) -> EvidenceFile:
    """Use case: gather a household's evidence file for a reader in scope, and record the printing."""
    with atomic() as session:
        household = access.readable(session, user, household_id)
        audit.record(audit.EVIDENCE_FILE, Household.__tablename__, household.id)
        session.flush()
        today = business_today()
        return EvidenceFile(
            household_code=household.code,
            title=f"一户一档 · {household.code}",
            particulars=_particulars(household),
            sections=(
                _statuses(household),
                _measures(household, today),
                _visits(household),
                _counter_income(household, today),
                _declared(household),
                _whole_income(household, today),
                _statements(household, today),
                _reviews(household),
                _work_trail(household),
                _audit_trail(household),
            ),
            generated_at=local_time(now_utc()),
            generated_by=_who(user),
        )
