"""Asset labels as a PDF: an A4 sheet of QR codes, each encoding a unit's asset tag.

The QR code is drawn from segno's module matrix as vector squares, so it prints sharp at any
size and needs no image library. Under it: the tag in large letters (a clerk can always type
it) and the kind's English name and serial number, in the PDF's built-in Helvetica.
"""

from collections.abc import Iterable
from io import BytesIO

import segno
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from .models import EquipmentUnit

# 3 × 8 labels of 70 × 37 mm: the common A4 label sheet.
COLUMNS, ROWS = 3, 8
LABEL_W, LABEL_H = 70 * mm, 37.125 * mm
QR_SIZE = 26 * mm


def _latin(text: str, limit: int) -> str:
    # Helvetica draws Latin-1 only; a name in another script prints as its English name elsewhere.
    text = text.encode("latin-1", "replace").decode("latin-1")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _draw_qr(canvas: Canvas, data: str, x: float, y: float, size: float) -> None:
    code = segno.make(data, error="m", micro=False)
    matrix = list(code.matrix_iter(scale=1, border=0))
    module = size / len(matrix)
    canvas.setFillColorRGB(0, 0, 0)
    for row_index, row in enumerate(matrix):
        for col_index, dark in enumerate(row):
            if dark:
                canvas.rect(
                    x + col_index * module,
                    y + size - (row_index + 1) * module,
                    module,
                    module,
                    stroke=0,
                    fill=1,
                )


def labels_pdf(units: Iterable[EquipmentUnit]) -> bytes:
    """One label per unit, in the order given, as many pages as needed."""
    buffer = BytesIO()
    canvas = Canvas(buffer, pagesize=A4, pageCompression=1)
    canvas.setTitle("Asset labels")
    _page_w, page_h = A4
    margin_x = (A4[0] - COLUMNS * LABEL_W) / 2
    margin_y = (page_h - ROWS * LABEL_H) / 2
    per_page = COLUMNS * ROWS
    units = list(units)
    for index, unit in enumerate(units):
        if index and index % per_page == 0:
            canvas.showPage()
        slot = index % per_page
        col, row = slot % COLUMNS, slot // COLUMNS
        left = margin_x + col * LABEL_W
        bottom = page_h - margin_y - (row + 1) * LABEL_H
        _draw_qr(canvas, unit.asset_tag, left + 4 * mm, bottom + (LABEL_H - QR_SIZE) / 2, QR_SIZE)
        text_x = left + 4 * mm + QR_SIZE + 3 * mm
        canvas.setFont("Helvetica-Bold", 13)
        canvas.drawString(text_x, bottom + LABEL_H / 2 + 3 * mm, unit.asset_tag)
        canvas.setFont("Helvetica", 7)
        name = getattr(unit.equipment, "name_en", None) or unit.equipment.name
        canvas.drawString(text_x, bottom + LABEL_H / 2 - 2 * mm, _latin(name, 28))
        if unit.serial_number:
            canvas.drawString(text_x, bottom + LABEL_H / 2 - 6 * mm, _latin(f"S/N {unit.serial_number}", 28))
    if not units:
        canvas.setFont("Helvetica", 10)
        canvas.drawString(20 * mm, page_h - 20 * mm, "No units.")
    canvas.save()
    return buffer.getvalue()
