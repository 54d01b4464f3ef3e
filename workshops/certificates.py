"""The certificate of attendance as a PDF: one landscape A4 page in Chinese and English, and in
Spanish too for a participant who chose it, with the name exactly as registered in any script.

Drawn on request from the stored certificate (nothing changes once it is issued), with the fonts
embedded as for the invitation letters (bookings/pdf.py).
"""

from io import BytesIO

from django.conf import settings
from django.utils import translation
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph

from bookings.pdf import CJK, SANS, SANS_BOLD, markup, register_fonts

from .letters import DEPARTMENT, DEPARTMENT_ZH, STUDIO, STUDIO_ZH, _date_zh, _long_date, _studio_day
from .models import Certificate

CENTRED = ParagraphStyle("centred", fontName=SANS, fontSize=11, leading=16, alignment=TA_CENTER)
NAME = ParagraphStyle("name", CENTRED, fontName=SANS_BOLD, fontSize=28, leading=36)
TITLE = ParagraphStyle("title", CENTRED, fontName=SANS_BOLD, fontSize=24, leading=32)
SMALL = ParagraphStyle("small", CENTRED, fontSize=8.5, leading=12)
SPANISH_MONTHS = [
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
]


def verification_url(certificate: Certificate) -> str:
    return f"{settings.SITE_URL}{certificate.get_absolute_url()}"


def _hours(certificate: Certificate) -> str:
    return f"{certificate.hours.normalize():f}"


def _spanish_date(value) -> str:
    day = _studio_day(value)
    return f"{day.day} de {SPANISH_MONTHS[day.month - 1]} de {day.year}"


def _lines(certificate: Certificate) -> list[tuple[str, ParagraphStyle, float]]:
    """Each line of the page: its text, style and the space after it (mm)."""
    session = certificate.enrolment.session
    with translation.override("en"):
        title_en = session.workshop.title
    with translation.override("zh-hans"):
        title_zh = session.workshop.title
    first, last = session.starts_at, session.ends_at
    days, total, hours = certificate.days_attended, certificate.days_total, _hours(certificate)
    lines = [
        ("出席证书", TITLE, 1),
        ("Certificate of Attendance", TITLE, 6),
        ("兹证明 / This is to certify that", CENTRED, 4),
        (certificate.name, NAME, 5),
        (f"参加了{STUDIO_ZH}{DEPARTMENT_ZH}举办的工作坊“{title_zh}”，", CENTRED, 0),
        (f"{_date_zh(first)}至{_date_zh(last)}，共{total}天，出席{days}天（{hours}小时）。", CENTRED, 3),
        (f"attended the workshop “{title_en}” of the {DEPARTMENT}, {STUDIO},", CENTRED, 0),
        (
            f"from {_long_date(first)} to {_long_date(last)}: {days} of {total} days ({hours} hours).",
            CENTRED,
            3,
        ),
    ]
    if certificate.enrolment.language == "es":
        with translation.override("es"):
            title_es = session.workshop.title
        lines += [
            (
                f"asistió al taller «{title_es}» del Departamento de Negocios Internacionales de {STUDIO},",
                CENTRED,
                0,
            ),
            (
                f"del {_spanish_date(first)} al {_spanish_date(last)}: {days} de {total} días ({hours} horas).",
                CENTRED,
                3,
            ),
        ]
    return lines


def certificate_pdf(certificate: Certificate) -> bytes:
    register_fonts()
    width, height = landscape(A4)
    buffer = BytesIO()
    canvas = Canvas(buffer, pagesize=(width, height), initialFontName=SANS)
    canvas.setTitle(f"Certificate of attendance {certificate.number}")
    canvas.setAuthor(STUDIO)
    canvas.setStrokeColorRGB(0.545, 0.102, 0.102)
    canvas.setLineWidth(2)
    canvas.rect(12 * mm, 12 * mm, width - 24 * mm, height - 24 * mm)
    canvas.setFont(SANS_BOLD, 14)
    canvas.drawCentredString(width / 2, height - 28 * mm, STUDIO)
    canvas.setFont(CJK, 14)
    canvas.drawCentredString(width / 2, height - 35 * mm, f"{STUDIO_ZH} · {DEPARTMENT_ZH}")
    frame_width = width - 40 * mm
    y = height - 48 * mm
    for text, style, after in _lines(certificate):
        paragraph = Paragraph(markup(text), style)
        _w, used = paragraph.wrap(frame_width, height)
        y -= used
        paragraph.drawOn(canvas, 20 * mm, y)
        y -= after * mm
    issued = certificate.issued_at
    footer = [
        f"证书编号 / Certificate no.: {certificate.number}",
        f"签发日期 / Issued: {_date_zh(issued)} / {_long_date(issued)}",
        f"核实 / Verify: {verification_url(certificate)}",
        settings.INVITATION_LETTER_SIGNATORY,
    ]
    y = 34 * mm
    for line in footer:
        paragraph = Paragraph(markup(line), SMALL)
        _w, used = paragraph.wrap(frame_width, height)
        paragraph.drawOn(canvas, 20 * mm, y)
        y -= used + 1
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()
