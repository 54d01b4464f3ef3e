"""Visa invitation letters as PDF, on studio letterhead.

The wording is document content, not UI: a Chinese consulate expects English (or
Chinese) whatever language the participant or the issuing staff member uses, so
nothing here goes through gettext.
"""

import functools
from datetime import date, datetime
from io import BytesIO
from pathlib import Path
from xml.sax.saxutils import escape

from django.conf import settings
from django.utils import dateformat, timezone, translation
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, HRFlowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from .models import InvitationLetter

FONT_DIR = Path(__file__).resolve().parent / "fonts"
SANS = "DejaVuSans"
SANS_BOLD = "DejaVuSans-Bold"
# Built into reportlab (no file to ship): the PDF viewer supplies the glyphs.
CJK = "STSong-Light"

STUDIO = "Hengdian World Studios"
STUDIO_ZH = "横店影视城"
DEPARTMENT = "International Business Department"
ADDRESS = "Hengdian, Dongyang, Zhejiang 322118, People's Republic of China"
VERIFY = f"To verify this letter, contact the {DEPARTMENT}, {STUDIO}, quoting its number."

# SimpleDocTemplate's frame insets the text by this much: the letterhead and footer line up with it.
FRAME_PADDING = 6

CJK_RANGES = ((0x2E80, 0x9FFF), (0xF900, 0xFAFF), (0xFF00, 0xFFEF), (0x3000, 0x303F), (0x20000, 0x10FFFF))

BODY = ParagraphStyle("body", fontName=SANS, fontSize=10.5, leading=15, spaceAfter=8)
TITLE = ParagraphStyle(
    "title", BODY, fontName=SANS_BOLD, fontSize=15, leading=20, alignment=TA_CENTER, spaceAfter=14
)
LABEL = ParagraphStyle("label", BODY, fontName=SANS_BOLD, spaceAfter=0)
CELL = ParagraphStyle("cell", BODY, spaceAfter=0)


@functools.cache
def _register_fonts() -> None:
    # Cached: parsing the TTF files once per process, not once per letter.
    pdfmetrics.registerFont(TTFont(SANS, str(FONT_DIR / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(SANS_BOLD, str(FONT_DIR / "DejaVuSans-Bold.ttf")))
    pdfmetrics.registerFontFamily(SANS, normal=SANS, bold=SANS_BOLD, italic=SANS, boldItalic=SANS_BOLD)
    pdfmetrics.registerFont(UnicodeCIDFont(CJK))


def _needs_cjk_font(char: str) -> bool:
    code = ord(char)
    if any(low <= code <= high for low, high in CJK_RANGES):
        return True
    # Neither font draws an emoji, but DejaVu would write glyph 0 and lose the character, while
    # the CID font writes UTF-16 and so keeps it in the text layer (search, copy and paste).
    return code not in pdfmetrics.getFont(SANS).face.charToGlyph


def _markup(text: str) -> str:
    """Escape text for a Paragraph; DejaVu has no Chinese, so CJK runs switch font."""
    runs: list[tuple[bool, str]] = []
    for char in text:
        cjk = _needs_cjk_font(char)
        if runs and runs[-1][0] == cjk:
            runs[-1] = (cjk, runs[-1][1] + char)
        else:
            runs.append((cjk, char))
    return "".join(f'<font name="{CJK}">{escape(run)}</font>' if cjk else escape(run) for cjk, run in runs)


def _long_date(value: date | datetime | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        # The studio's day, whichever time zone happens to be active for the request.
        value = timezone.localtime(value, timezone.get_default_timezone()).date()
    return dateformat.format(value, "j F Y")


def _letterhead(canvas: Canvas, doc: SimpleDocTemplate, *, number: str) -> None:
    width, height = A4
    left, right = doc.leftMargin + FRAME_PADDING, width - doc.rightMargin - FRAME_PADDING
    canvas.saveState()
    canvas.setFont(SANS_BOLD, 17)
    canvas.drawString(left, height - 20 * mm, STUDIO)
    canvas.setFont(CJK, 17)
    canvas.drawRightString(right, height - 20 * mm, STUDIO_ZH)
    canvas.setFont(SANS, 10)
    canvas.drawString(left, height - 26 * mm, DEPARTMENT)
    canvas.setFillColor(colors.HexColor("#555555"))
    canvas.setFont(SANS, 8.5)
    canvas.drawString(left, height - 31 * mm, ADDRESS)
    canvas.setStrokeColor(colors.HexColor("#8B1A1A"))
    canvas.setLineWidth(1.2)
    canvas.line(left, height - 35 * mm, right, height - 35 * mm)
    canvas.setFont(SANS, 7.5)
    canvas.drawString(left, 15 * mm, f"Letter no. {number}")
    canvas.drawRightString(right, 15 * mm, f"Page {canvas.getPageNumber()}")
    canvas.drawString(left, 11 * mm, VERIFY)
    canvas.restoreState()


def _details_table(rows: list[tuple[str, str]]) -> Table:
    table = Table(
        [[Paragraph(label, LABEL), Paragraph(_markup(value), CELL)] for label, value in rows],
        colWidths=[45 * mm, None],
        hAlign="LEFT",
    )
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#999999")),
                ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#F2F2F2")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
            ]
        )
    )
    return table


def _story(letter: InvitationLetter) -> list[Flowable]:
    enrolment = letter.enrolment
    session = enrolment.session
    name = _markup(enrolment.full_name)
    invitation = (
        f"{STUDIO} is pleased to invite <b>{name}</b>, a national of {_markup(enrolment.nationality.name)}, "
        f"to attend the workshop “{_markup(session.workshop.title)}” from {_long_date(session.starts_at)} "
        f"to {_long_date(session.ends_at)} at {_markup(session.venue)}, {STUDIO}, Zhejiang Province."
    )
    purpose = (
        "The purpose of the visit is professional training in micro-drama production. The visit is "
        f"short-term and is not employment: {STUDIO} does not pay the participant a salary."
    )
    details = [
        ("Full name", enrolment.full_name),
        ("Nationality", enrolment.nationality.name),
        ("Passport number", enrolment.passport_number),
        ("Date of birth", _long_date(enrolment.date_of_birth)),
        ("Passport expiry", _long_date(enrolment.passport_expiry)),
        ("Role", str(enrolment.get_role_display())),
    ]
    return [
        Paragraph(f"Letter no.: {_markup(letter.number)}", CELL),
        Paragraph(f"Date: {_long_date(letter.issued_at)}", BODY),
        Paragraph(_markup("Invitation Letter / 邀请函"), TITLE),
        Paragraph(
            "To the Visa Section, Embassy or Consulate General of the People's Republic of China", BODY
        ),
        Paragraph("Dear Sir or Madam,", BODY),
        Paragraph(invitation, BODY),
        Paragraph(purpose, BODY),
        Paragraph("The participant's details are as follows:", BODY),
        _details_table(details),
        Spacer(1, 10),
        Paragraph(
            "The participant will leave China and return home at the end of the workshop. "
            "We would be grateful for your favourable consideration of the visa application.",
            BODY,
        ),
        Paragraph("Yours faithfully,", BODY),
        Spacer(1, 16 * mm),
        HRFlowable(width=70 * mm, thickness=0.6, color=colors.black, hAlign="LEFT", spaceAfter=4),
        Paragraph(_markup(settings.INVITATION_LETTER_SIGNATORY), CELL),
    ]


def invitation_letter_pdf(*, letter: InvitationLetter) -> bytes:
    """Render the letter; it needs no saved file or primary key, so it can run before the save."""
    _register_fonts()
    buffer = BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=22 * mm,
        rightMargin=22 * mm,
        topMargin=45 * mm,
        bottomMargin=25 * mm,
        title=f"Invitation letter {letter.number}",
        author=STUDIO,
        subject="Visa invitation letter",
    )
    # Django translates country names, role labels and month names: the letter stays English.
    with translation.override("en"):
        story = _story(letter)
    letterhead = functools.partial(_letterhead, number=letter.number)
    doc.build(story, onFirstPage=letterhead, onLaterPages=letterhead)
    return buffer.getvalue()
