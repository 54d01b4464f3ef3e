"""An invoice as a PDF, in Chinese and English, with every font embedded (``bookings.pdf``).

The wording is document content, not UI: the studio's finance department and the crew's
accountants read both languages whatever language the page is in, so nothing here goes
through gettext. It says plainly that it is a commercial invoice: the official 发票 (fapiao)
is issued by the finance department on request.
"""

from datetime import date
from decimal import Decimal
from io import BytesIO

from django.conf import settings
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from .models import Invoice
from .pdf import SANS, SANS_BOLD, markup, register_fonts

STUDIO = "Hengdian World Studios"
STUDIO_ZH = "横店影视城"
ADDRESS = "Hengdian, Dongyang, Zhejiang 322118, People's Republic of China"
ADDRESS_ZH = "中华人民共和国浙江省东阳市横店镇 322118"

BODY = ParagraphStyle("invoice-body", fontName=SANS, fontSize=8.5, leading=12, wordWrap="CJK")
SMALL = ParagraphStyle("invoice-small", BODY, fontSize=7.5, leading=10.5)
TITLE = ParagraphStyle("invoice-title", BODY, fontName=SANS_BOLD, fontSize=15, leading=20, spaceAfter=4)
# Amounts never break inside: only the texts wrap between any two characters (for Chinese).
RIGHT = ParagraphStyle("invoice-right", BODY, alignment=TA_RIGHT, wordWrap=None)
RIGHT_BOLD = ParagraphStyle("invoice-right-bold", RIGHT, fontName=SANS_BOLD)
REFERENCE = ParagraphStyle("invoice-reference", BODY, wordWrap=None)


TITLES = {
    Invoice.Kind.INVOICE: "商业发票 · COMMERCIAL INVOICE",
    Invoice.Kind.CORRECTION: "更正发票 · CORRECTING INVOICE",
    Invoice.Kind.CREDIT: "冲销单 · CREDIT NOTE",
    Invoice.Kind.CANCELLATION: "取消费用发票 · CANCELLATION INVOICE",
}


def _money(amount: Decimal | str) -> str:
    return f"CNY {Decimal(amount):,.2f}"


def _day(value: date) -> str:
    return f"{value:%Y-%m-%d}"


def _label(line: dict) -> str:
    labels = line.get("labels") or {}
    english = labels.get("en") or line.get("label", "")
    chinese = labels.get("zh-hans") or ""
    return f"{english} / {chinese}" if chinese and chinese != english else english


def _p(text: str, style: ParagraphStyle = BODY) -> Paragraph:
    return Paragraph(markup(text), style)


def _grid(rows: list[list], widths: list, *, header: bool = True) -> Table:
    table = Table(rows, colWidths=widths, hAlign="LEFT", repeatRows=1 if header else 0)
    style = [
        # Cells hold Paragraphs, but the table still sets its own font (Helvetica, never embedded).
        ("FONTNAME", (0, 0), (-1, -1), SANS),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.4, colors.HexColor("#BBBBBB")),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#F2F2F2")))
    table.setStyle(TableStyle(style))
    return table


def _story(invoice: Invoice) -> list:
    story = [
        _p(f"{STUDIO_ZH} · {STUDIO}", BODY),
        _p(f"{ADDRESS_ZH} · {ADDRESS}", SMALL),
        Spacer(1, 6 * mm),
        _p(TITLES[invoice.kind], TITLE),
        _grid(
            [
                [_p("Invoice no. / 发票编号"), _p(invoice.number)],
                *(
                    [[_p("Corrects invoice / 更正原发票"), _p(invoice.corrects.number)]]
                    if invoice.corrects_id
                    else []
                ),
                [_p("Issued / 开具日期"), _p(_day(invoice.issued_on))],
                [_p("Payment due / 付款期限"), _p(_day(invoice.due_on))],
                [_p("Shoot plan / 拍摄计划"), _p(invoice.plan.reference)],
                [_p("Billed to / 付款单位"), _p(invoice.billing_name)],
                [_p("Tax ID / 统一社会信用代码"), _p(invoice.billing_tax_id or "—")],
                [_p("Address / 地址"), _p(invoice.billing_address or "—")],
            ],
            [50 * mm, 120 * mm],
            header=False,
        ),
        Spacer(1, 5 * mm),
    ]
    rows = [
        [
            _p("Booking / 预订"),
            _p("Description / 项目"),
            _p("Qty / 数量", RIGHT),
            _p("Days / 天数", RIGHT),
            _p("Rate / 日租价", RIGHT),
            _p("Amount / 金额", RIGHT),
        ]
    ]
    for line in invoice.lines:
        rows.append(
            [
                _p(line.get("part") or "Whole plan / 整个计划", REFERENCE),
                _p(_label(line)),
                _p(str(line["quantity"]), RIGHT),
                _p(str(line["days"]), RIGHT),
                _p(_money(line["rate"]), RIGHT),
                _p(_money(line["amount"]), RIGHT),
            ]
        )
    vat_percent = f"{invoice.vat_percent.normalize():f}"
    rows += [
        ["", _p("Net / 不含税金额"), "", "", "", _p(_money(invoice.net), RIGHT)],
        ["", _p(f"VAT {vat_percent} % / 增值税 {vat_percent}%"), "", "", "", _p(_money(invoice.vat), RIGHT)],
        ["", _p("Total / 合计", RIGHT_BOLD), "", "", "", _p(_money(invoice.total), RIGHT_BOLD)],
    ]
    story += [_grid(rows, [24 * mm, 54 * mm, 12 * mm, 13 * mm, 31 * mm, 40 * mm]), Spacer(1, 5 * mm)]
    if invoice.kind == Invoice.Kind.CREDIT:
        story.append(
            _p(
                f"This credit note reduces what is owed on invoice {invoice.corrects.number}; nothing is to be "
                f"paid on it. / 本冲销单冲减发票 {invoice.corrects.number} 的应付金额，无需付款。"
            )
        )
    elif invoice.deposit:
        story.append(
            _p(
                f"Payment terms: a deposit of {_money(invoice.deposit)} by {_day(invoice.deposit_due_on)}, the rest "
                f"by {_day(invoice.due_on)}, quoting the invoice number {invoice.number} with each transfer. / "
                f"付款条件：请于 {_day(invoice.deposit_due_on)} 前支付定金 {_money(invoice.deposit)}，"
                f"余款于 {_day(invoice.due_on)} 前付清；转账时请注明发票编号 {invoice.number}。"
            )
        )
    else:
        story.append(
            _p(
                f"Payment terms: please pay the total by {_day(invoice.due_on)}, quoting the invoice number "
                f"{invoice.number} with the transfer. / 付款条件：请于 {_day(invoice.due_on)} 前付清全部款项，"
                f"转账时请注明发票编号 {invoice.number}。"
            )
        )
    bank = [
        ("Account name / 户名", settings.STUDIO_BANK_ACCOUNT_NAME),
        ("Bank / 开户行", settings.STUDIO_BANK_NAME),
        ("Account no. / 账号", settings.STUDIO_BANK_ACCOUNT),
        ("SWIFT", settings.STUDIO_BANK_SWIFT),
    ]
    bank = [(label, value) for label, value in bank if value]
    if bank:
        story += [
            Spacer(1, 3 * mm),
            _grid([[_p(k), _p(v)] for k, v in bank], [50 * mm, 120 * mm], header=False),
        ]
    else:
        story.append(
            _p(
                "Bank details: ask the booking desk. / 银行账户信息：请向预订服务台索取。",
            )
        )
    story += [
        Spacer(1, 6 * mm),
        _p(
            "This is a commercial invoice, not an official Chinese VAT invoice (发票, fapiao). The finance "
            "department issues a fapiao on request: ask for it on the shoot plan's page.",
            SMALL,
        ),
        _p("本单据为商业发票，并非增值税发票。如需发票，请在拍摄计划页面申请，由财务部开具。", SMALL),
    ]
    return story


def invoice_pdf(invoice: Invoice) -> bytes:
    """The invoice as one or more A4 pages."""
    register_fonts()
    buffer = BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        title=f"{invoice.number} · {STUDIO}",
        author=STUDIO,
        # Else reportlab names Helvetica on every page, a font that is never embedded.
        initialFontName=SANS,
    )
    document.build(_story(invoice))
    return buffer.getvalue()
