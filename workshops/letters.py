"""Visa invitation letters as PDF, on studio letterhead, in Chinese and English.

The wording is document content, not UI: a Chinese consulate expects Chinese and
English whatever language the participant or the issuing staff member uses, so
nothing here goes through gettext.

Every font is embedded (subset), so a name is drawn as typed on any computer
(``bookings.pdf``: DejaVu Sans, and WenQuanYi Micro Hei for Chinese, Japanese,
Korean and anything else DejaVu lacks).

The planned entry and exit dates are the day before the session's first day and
the day after its last (studio days): time to arrive and to leave, and inside
the span a visa officer expects for a training visit.
"""

import functools
from datetime import date, datetime, timedelta
from decimal import Decimal
from io import BytesIO

from django.conf import settings
from django.utils import dateformat, timezone, translation
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    HRFlowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from bookings.pdf import CJK, SANS, SANS_BOLD, markup, register_fonts

from .models import Enrolment, InvitationLetter

STUDIO = "Hengdian World Studios"
STUDIO_ZH = "横店影视城"
DEPARTMENT = "International Business Department"
DEPARTMENT_ZH = "国际业务部"
ADDRESS = "Hengdian, Dongyang, Zhejiang 322118, People's Republic of China"
ADDRESS_ZH = "中华人民共和国浙江省东阳市横店镇 322118"

# SimpleDocTemplate's frame insets the text by this much: the letterhead and footer line up with it.
FRAME_PADDING = 6

BODY = ParagraphStyle("body", fontName=SANS, fontSize=9, leading=12.5, spaceAfter=2)
# Chinese has no spaces to break lines at: CJK wrapping breaks between any two characters.
BODY_ZH = ParagraphStyle("body-zh", BODY, fontName=CJK, leading=13.5, spaceAfter=6, wordWrap="CJK")
TITLE = ParagraphStyle(
    "title", BODY, fontName=SANS_BOLD, fontSize=14, leading=19, alignment=TA_CENTER, spaceAfter=8
)
LABEL = ParagraphStyle("label", BODY, fontName=SANS_BOLD, fontSize=8, leading=11.5, spaceAfter=0)
CELL = ParagraphStyle("cell", BODY, spaceAfter=0)


def _studio_day(value: date | datetime) -> date:
    if isinstance(value, datetime):
        # The studio's day, whichever time zone happens to be active for the request.
        return timezone.localtime(value, timezone.get_default_timezone()).date()
    return value


def _long_date(value: date | datetime | None) -> str:
    if value is None:
        return "—"
    return dateformat.format(_studio_day(value), "j F Y")


def _date_zh(value: date | datetime | None) -> str:
    if value is None:
        return "—"
    day = _studio_day(value)
    return f"{day.year}年{day.month}月{day.day}日"


def _both(english: str, chinese: str) -> str:
    return f"{english} / {chinese}" if chinese and chinese != english else english


def planned_stay(enrolment: Enrolment) -> tuple[date, date]:
    """Entry the day before the first workshop day, exit the day after the last (studio days)."""
    session = enrolment.session
    return _studio_day(session.starts_at) - timedelta(days=1), _studio_day(session.ends_at) + timedelta(
        days=1
    )


def _verification() -> tuple[str, str]:
    email, phone = settings.INVITATION_LETTER_EMAIL, settings.INVITATION_LETTER_PHONE
    english = f"telephone {phone}, email {email}" if phone else f"email {email}"
    chinese = f"电话 {phone}，电子邮箱 {email}" if phone else f"电子邮箱 {email}"
    return english, chinese


def _letterhead(canvas: Canvas, doc: SimpleDocTemplate, *, number: str) -> None:
    width, height = A4
    left, right = doc.leftMargin + FRAME_PADDING, width - doc.rightMargin - FRAME_PADDING
    contact_en, contact_zh = _verification()
    canvas.saveState()
    canvas.setFont(SANS_BOLD, 17)
    canvas.drawString(left, height - 20 * mm, STUDIO)
    canvas.setFont(CJK, 17)
    canvas.drawRightString(right, height - 20 * mm, STUDIO_ZH)
    canvas.setFont(SANS, 10)
    canvas.drawString(left, height - 26 * mm, DEPARTMENT)
    canvas.setFont(CJK, 10)
    canvas.drawRightString(right, height - 26 * mm, DEPARTMENT_ZH)
    canvas.setFillColor(colors.HexColor("#555555"))
    canvas.setFont(SANS, 8.5)
    canvas.drawString(left, height - 31 * mm, ADDRESS)
    canvas.setFont(CJK, 8.5)
    canvas.drawString(left, height - 35 * mm, ADDRESS_ZH)
    canvas.setStrokeColor(colors.HexColor("#8B1A1A"))
    canvas.setLineWidth(1.2)
    canvas.line(left, height - 38 * mm, right, height - 38 * mm)
    canvas.setFont(SANS, 7.5)
    canvas.drawString(left, 17 * mm, f"Letter no. {number}")
    canvas.drawRightString(right, 17 * mm, f"Page {canvas.getPageNumber()}")
    canvas.drawString(
        left, 13 * mm, f"To verify this letter, quote its number to the {DEPARTMENT}: {contact_en}."
    )
    canvas.setFont(CJK, 7.5)
    canvas.drawString(left, 9 * mm, f"核实本邀请函请联系{STUDIO_ZH}{DEPARTMENT_ZH}并告知编号：{contact_zh}。")
    canvas.restoreState()


def _details_table(rows: list[tuple[str, str]]) -> Table:
    table = Table(
        [[Paragraph(markup(label), LABEL), Paragraph(markup(value), CELL)] for label, value in rows],
        colWidths=[52 * mm, None],
        hAlign="LEFT",
    )
    table.setStyle(
        TableStyle(
            [
                # Cells hold Paragraphs, but the table still sets its own font (Helvetica,
                # never embedded) unless told otherwise.
                ("FONTNAME", (0, 0), (-1, -1), SANS),
                ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#999999")),
                ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#F2F2F2")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return table


def _pair(english: str, chinese: str) -> list[Flowable]:
    """One paragraph in English, then the same in Chinese (both already marked up)."""
    return [Paragraph(english, BODY), Paragraph(chinese, BODY_ZH)]


def _costs(fee: Decimal) -> tuple[str, str]:
    if fee > 0:
        return (
            "The participant bears all costs of the visit: the workshop fee of "
            f"CNY {fee:,.2f}, international travel, accommodation, meals and insurance.",
            f"此次来访的全部费用，包括培训费人民币 {fee:,.2f} 元、国际旅费、住宿费、餐费及保险费，均由参加者本人承担。",
        )
    return (
        "The workshop is free of charge. The participant bears all other costs of the visit: "
        "international travel, accommodation, meals and insurance.",
        "本次培训免费。此次来访的其他全部费用，包括国际旅费、住宿费、餐费及保险费，均由参加者本人承担。",
    )


def _story(letter: InvitationLetter) -> list[Flowable]:
    enrolment = letter.enrolment
    session = enrolment.session
    name = markup(enrolment.full_name)
    # Each half in its own language, whatever language the issuing staff member's admin is in
    # (the catalogue's texts follow the active language, and Chinese falls back to English).
    with translation.override("en"):
        title, venue = markup(session.workshop.title), markup(session.venue)
        country, role = str(enrolment.nationality.name), str(enrolment.get_role_display())
    with translation.override("zh-hans"):
        title_zh, venue_zh = session.workshop.title, session.venue
        country_zh, role_zh = str(enrolment.nationality.name), str(enrolment.get_role_display())
    starts, ends = session.starts_at, session.ends_at
    entry, exit_ = planned_stay(enrolment)
    costs_en, costs_zh = _costs(session.workshop.fee)
    details = [
        ("Full name / 姓名", enrolment.full_name),
        ("Nationality / 国籍", _both(country, country_zh)),
        ("Passport number / 护照号码", enrolment.passport_number),
        ("Date of birth / 出生日期", _long_date(enrolment.date_of_birth)),
        ("Passport expiry / 护照有效期至", _long_date(enrolment.passport_expiry)),
        ("Role / 身份", _both(role, role_zh)),
        ("Planned entry / 计划入境日期", f"{_long_date(entry)} / {_date_zh(entry)}"),
        ("Planned exit / 计划离境日期", f"{_long_date(exit_)} / {_date_zh(exit_)}"),
    ]
    return [
        Paragraph(markup(f"Letter no. / 编号: {letter.number}"), CELL),
        Paragraph(
            markup(f"Date / 日期: {_long_date(letter.issued_at)} / {_date_zh(letter.issued_at)}"), BODY
        ),
        Paragraph(markup("邀请函 / Letter of Invitation"), TITLE),
        *_pair(
            "To the Visa Section, Embassy or Consulate General of the People's Republic of China<br/>"
            "Dear Sir or Madam,",
            "中华人民共和国驻外使领馆签证处：<br/>尊敬的签证官：",
        ),
        *_pair(
            f"{STUDIO} is pleased to invite <b>{name}</b>, a national of {markup(country)}, "
            f"to attend the workshop “{title}” from {_long_date(starts)} to {_long_date(ends)} "
            f"at {venue}, {STUDIO}, Dongyang, Zhejiang Province.",
            markup(f"{STUDIO_ZH}诚挚邀请{country_zh}公民 ")
            + f"<b>{name}</b>"
            + markup(
                f" 于{_date_zh(starts)}至{_date_zh(ends)}在浙江省东阳市{STUDIO_ZH}（{venue_zh}）"
                f"参加培训课程“{title_zh}”。"
            ),
        ),
        *_pair(
            "The purpose of the visit is professional training in micro-drama production. The visit is "
            f"short-term and is not employment: {STUDIO} does not pay the participant a salary. "
            f"The participant plans to enter China on {_long_date(entry)} and to leave China on "
            f"{_long_date(exit_)}.",
            markup(
                f"此次来访的目的是参加微短剧制作专业培训，属短期访问，不构成雇佣关系，{STUDIO_ZH}不向参加者支付任何报酬。"
                f"参加者计划于{_date_zh(entry)}入境中国，并于{_date_zh(exit_)}离境。"
            ),
        ),
        *_pair(markup(costs_en), markup(costs_zh)),
        _details_table(details),
        Spacer(1, 7),
        *_pair(
            "The participant will leave China and return home at the end of the workshop. "
            "We would be grateful for your favourable consideration of the visa application.",
            markup("参加者将于培训结束后离开中国返回本国。恳请贵处惠予办理签证为盼。"),
        ),
        # The signature never stands alone on a page.
        KeepTogether(
            [
                Paragraph(markup("Yours faithfully / 此致敬礼"), BODY),
                Spacer(1, 9 * mm),
                HRFlowable(width=70 * mm, thickness=0.6, color=colors.black, hAlign="LEFT", spaceAfter=4),
                Paragraph(markup(settings.INVITATION_LETTER_SIGNATORY), CELL),
                Paragraph(markup(f"{STUDIO_ZH}{DEPARTMENT_ZH}"), CELL),
            ]
        ),
    ]


def invitation_letter_pdf(*, letter: InvitationLetter) -> bytes:
    """Render the letter; it needs no saved file or primary key, so it can run before the save."""
    register_fonts()
    buffer = BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=22 * mm,
        rightMargin=22 * mm,
        topMargin=42 * mm,
        bottomMargin=24 * mm,
        title=f"Invitation letter {letter.number}",
        author=STUDIO,
        subject="Visa invitation letter",
        # The canvas would start in Helvetica, which is never embedded: start in ours.
        initialFontName=SANS,
    )
    # Django translates country names, role labels and month names: the letter stays English.
    with translation.override("en"):
        story = _story(letter)
    letterhead = functools.partial(_letterhead, number=letter.number)
    doc.build(story, onFirstPage=letterhead, onLaterPages=letterhead)
    return buffer.getvalue()
