"""A household's month (oversight.statements.MonthStatement) as the printed statement: Chinese words, then PDF bytes.

Printed statements are in Chinese whatever the page language: they go to the
household and into the officer's file. The words are written here in Chinese
rather than through gettext, so a statement never depends on the catalog being
complete. The QR link is made by the caller (shop.web.urls.statement_url), since
it needs the public address of the site.
"""

from datetime import datetime
from typing import TYPE_CHECKING

from shop.clock import local_time, now_utc
from shop.extensions import db
from shop.ledger import checkpoints
from shop.ledger.chain import EntryKind
from shop.models import HouseholdCategory, MonitorSubtype, MonthReview, PayoutMethod, ReviewOutcome, User
from shop.oversight.statements import Cause, Line, MonthStatement
from shop.wording import market_quantity_zh

if TYPE_CHECKING:  # reportlab is loaded by the first statement rendered, not by every worker that imports this
    from shop.pdf.statement import HouseholdStatement, StatementRow

#: Who issues the statement: every counter of the installation credits the same ledger.
ISSUER = "临高县消费帮扶专柜"

CATEGORIES = {
    HouseholdCategory.TUOPIN: "脱贫户",
    HouseholdCategory.JIANCE: "监测户",
    HouseholdCategory.YIBAN: "一般农户",
}
SUBTYPES = {
    MonitorSubtype.UNSTABLE: "脱贫不稳定户",
    MonitorSubtype.MARGINAL: "边缘易致贫户",
    MonitorSubtype.SUDDEN: "突发严重困难户",
}
PAYOUT_METHODS = {PayoutMethod.CASH: "现金", PayoutMethod.BANK_TRANSFER: "银行转账"}

#: What shop.ledger.checkpoints.proofs_for answers: the latest checkpoint as published, and {seq: proof}.
Proved = tuple[dict | None, dict[int, dict]]


def render(
    statement: MonthStatement,
    verify_url: str,
    own_page_url: str = "",
    *,
    proved: "Proved | None" = None,
    now: datetime | None = None,
) -> bytes:
    """The statement as an A4 PDF whose QR code opens verify_url (and, beside it, the household's page if given).

    proved: the latest checkpoint and the proofs of (at least) its entries, when a batch has read them already.
    """
    from shop.pdf.statement import render_statement

    document = household_statement(statement, verify_url, now, own_page_url=own_page_url, proved=proved)
    return render_statement(document)


def load_font() -> None:
    """Load reportlab and register the statement's font now, e.g. before forking workers that share it."""
    from shop.pdf.fonts import cjk_font

    cjk_font()


def filename(statement: MonthStatement) -> str:
    """The file a statement is saved as: 2026-11_DB001.pdf."""
    return f"{statement.month:%Y-%m}_{statement.household.code}.pdf"


def household_statement(
    statement: MonthStatement,
    verify_url: str,
    now: datetime | None = None,
    own_page_url: str = "",
    proved: "Proved | None" = None,
) -> "HouseholdStatement":
    """The values the statement renderer prints, from the month's account."""
    from shop.pdf.statement import HouseholdStatement

    household = statement.household
    village = household.village
    seqs = [line.entry.seq for line in statement.lines]
    checkpoint, proofs = proved if proved is not None else checkpoints.proofs_for(db.session, seqs)
    proofs = {seq: proofs[seq] for seq in set(seqs)}
    return HouseholdStatement(
        counter_name=ISSUER,
        month=statement.month,
        household_code=household.code,
        head_name_masked=household.head_name_masked,
        town=village.town.name_zh,
        village=village.name_zh,
        members=household.members,
        category=category_text(household.category, household.monitor_subtype),
        officer=person(household.officer) if household.officer else "",
        opening_balance_fen=statement.opening_balance_fen,
        credited_fen=statement.credited_fen,
        reversed_fen=statement.reversed_fen,
        adjusted_fen=statement.adjusted_fen,
        paid_out_fen=statement.paid_out_fen,
        closing_balance_fen=statement.closing_balance_fen,
        income_fen=statement.income_fen,
        per_capita_fen=statement.per_capita_fen,
        rows=tuple(row(line) for line in statement.lines),
        review=review_text(statement.review, len(statement.amendments), statement.changed_since_confirmed),
        verify_url=verify_url,
        digest=statement.digest,
        generated_at=local_time(now or now_utc()),
        own_page_url=own_page_url,
        checkpoint=checkpoint,
        proofs=tuple(proofs[seq] for seq in sorted(proofs)),
    )


def row(line: Line) -> "StatementRow":
    """One line of the month as a printed row."""
    from shop.pdf.statement import StatementRow

    entry = line.entry
    return StatementRow(
        entry_date=entry.entry_date,
        seq=entry.seq,
        kind=entry.kind.value,
        description=description(entry.kind, line.cause),
        amount_fen=line.signed_fen,
        balance_fen=line.balance_fen,
        amendment=line.amendment,
    )


def description(kind: EntryKind, cause: Cause) -> str:
    """What an entry came from, in Chinese: 虾干 0.5 斤 · 销售 #12 · 批次 P000007."""
    if cause.adjustment is not None:
        return f"调整：{cause.adjustment.reason}"
    if cause.payout is not None:
        return f"支付 {cause.payout.number} · {PAYOUT_METHODS.get(cause.payout.method, cause.payout.method)}"
    goods = f"{cause.product_name} {market_quantity_zh(cause.quantity, cause.unit)}".strip()
    lot = f"批次 {cause.lot.code}" if cause.lot is not None else ""
    if cause.refund_id is not None:
        return " · ".join(p for p in (goods, f"退款 #{cause.refund_id}", f"销售 #{cause.sale_id}", lot) if p)
    if cause.sale_id is not None:
        return " · ".join(p for p in (goods, f"销售 #{cause.sale_id}", lot) if p)
    if cause.lot is not None:
        return " · ".join(p for p in ("收购", goods, lot) if p)
    return {EntryKind.CREDIT: "入账", EntryKind.REVERSAL: "冲减", EntryKind.PAYOUT: "支付"}.get(kind, "调整")


def category_text(category: HouseholdCategory, subtype: MonitorSubtype | None) -> str:
    """The household's category, with a monitored household's subtype: 监测户（边缘易致贫户）."""
    text = CATEGORIES.get(category, str(category))
    return f"{text}（{SUBTYPES[subtype]}）" if subtype in SUBTYPES else text


def person(user: User) -> str:
    """A staff member as printed: their display name, else their username."""
    return user.display_name or user.username


def review_text(review: MonthReview | None, amendments: int, changed: bool = False) -> str:
    """Where the month's review stands, in one printed line; entries rewritten since a confirmation say so first."""
    if review is None:
        return "尚未审核"
    on = f"{local_time(review.reviewed_at):%Y-%m-%d}"
    if review.outcome is ReviewOutcome.CONFIRMED:
        text = f"已由 {person(review.reviewed_by)} 于 {on} 审核确认"
        if changed:
            text = f"【确认后已被改动】{text}，所确认的账目已不是当时的样子"
        return text + (f"；确认后补记更正 {amendments} 笔" if amendments else "")
    text = f"有异议：{review.note}（{person(review.reviewed_by)}，{on}）"
    if review.resolved_at is not None:
        text += f"；已答复：{review.resolution}"
    return text
