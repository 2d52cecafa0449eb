"""The ledger's inclusion proofs printed on paper: the signed checkpoint, then each entry's audit path.

Hex is set in Courier, two hashes to a line, so it reads back by eye or by a PDF's text layer
exactly as `flask ledger prove` prints it, and the standalone checker can be fed from the paper.
"""

from collections.abc import Callable, Mapping, Sequence

from reportlab.pdfgen.canvas import Canvas

from shop.pdf.fonts import draw_text, wrap_text
from shop.pdf.table import BODY, BOTTOM, MARGIN, WIDTH

MONO = "Courier"
MONO_SIZE = 6.0
LINE = MONO_SIZE * 1.45
HEADING = "附：账本包含证明（RFC 9162）"
EXPLAINED = (
    "柜台每天对全部账目签名并公开（/ledger/）。下列每笔记录的审计路径，"
    "可用独立核验程序（proof_checker.py）对照公开的签名检查点核验，无需本系统的数据库。"
)
NOT_YET = "尚未纳入签名检查点：下次签名后可在账户页或 /ledger/proof/{seq}.json 取得证明。"


def proof_lines(proof: Mapping) -> list[str]:
    """One entry's proof as the lines printed: its seq, tree size and leaf, then its path two hashes a line."""
    if not proof.get("audit_path") and proof.get("checkpoint") is None:
        return []
    path = list(proof["audit_path"])
    lines = [f"seq {proof['seq']}  tree_size {proof['tree_size']}  leaf {proof['leaf']}", f"audit_path ({len(path)}):"]
    return lines + ["  " + " ".join(path[n : n + 2]) for n in range(0, len(path), 2)]


def checkpoint_lines(checkpoint: Mapping) -> list[str]:
    """The signed checkpoint the proofs lead to, field by field."""
    return [
        f"checkpoint seq {checkpoint['seq']}  signed_at {checkpoint['signed_at']}  key_id {checkpoint['key_id']}",
        f"root {checkpoint['root']}",
        f"signature {checkpoint['signature']}",
    ]


def draw_proofs(
    canvas: Canvas,
    checkpoint: Mapping | None,
    proofs: Sequence[Mapping],
    font: str,
    top: float,
    next_page: Callable[[], float],
) -> float:
    """Print the checkpoint and every proof from top, turning pages with next_page; returns the y reached."""
    y = top
    draw_text(canvas, MARGIN, y - BODY, HEADING, font, BODY, bold=True)
    y -= BODY * 1.8
    for line in wrap_text(EXPLAINED, font, 8.5, WIDTH):
        draw_text(canvas, MARGIN, y - 8.5, line, font, 8.5)
        y -= 8.5 * 1.5
    if checkpoint is None:
        draw_text(canvas, MARGIN, y - 8.5, "柜台尚未签名检查点。", font, 8.5)
        return y - 8.5 * 1.5
    blocks = [checkpoint_lines(checkpoint)] + [proof_lines(p) or [p["seq"]] for p in proofs]
    for block in blocks:
        if y - LINE * (len(block) + 1) < BOTTOM:
            y = next_page()
        y -= LINE * 0.5
        for line in block:
            if isinstance(line, int):
                draw_text(canvas, MARGIN, y - 8, f"#{line} " + NOT_YET.format(seq=line), font, 8)
            else:
                canvas.setFont(MONO, MONO_SIZE)
                canvas.drawString(MARGIN, y - MONO_SIZE, line)
            y -= LINE
    return y
