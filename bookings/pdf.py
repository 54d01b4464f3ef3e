"""What every PDF of the studio shares: embedded fonts for any script, and text set in them.

Every font is embedded (subset), so a name is drawn as typed on any computer: DejaVu Sans for
Latin, Greek and Cyrillic, and WenQuanYi Micro Hei (TrueType outlines, which reportlab can
embed) for Chinese, Japanese, Korean and anything else DejaVu lacks. Both ship in ``fonts/``
with their licences. Used by the invoices here and the workshops' invitation letters.
"""

import functools
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONT_DIR = Path(__file__).resolve().parent / "fonts"
SANS = "DejaVuSans"
SANS_BOLD = "DejaVuSans-Bold"
CJK = "WenQuanYiMicroHei"
CJK_FILE = FONT_DIR / "wqy-microhei.ttc"  # face 0: WenQuanYi Micro Hei; face 1 is its monospaced twin

# Drawn with the CJK font even where DejaVu has a glyph: CJK punctuation and
# full-width forms belong with the characters around them.
CJK_RANGES = (
    (0x1100, 0x11FF),  # Hangul Jamo
    (0x2E80, 0x9FFF),  # CJK radicals, punctuation, kana, Hangul compatibility Jamo, ideographs
    (0xAC00, 0xD7AF),  # Hangul syllables
    (0xF900, 0xFAFF),
    (0xFF00, 0xFFEF),
    (0x20000, 0x10FFFF),
)


@functools.cache
def register_fonts() -> None:
    # Cached: parsing the font files once per process, not once per document.
    pdfmetrics.registerFont(TTFont(SANS, str(FONT_DIR / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(SANS_BOLD, str(FONT_DIR / "DejaVuSans-Bold.ttf")))
    pdfmetrics.registerFontFamily(SANS, normal=SANS, bold=SANS_BOLD, italic=SANS, boldItalic=SANS_BOLD)
    pdfmetrics.registerFont(TTFont(CJK, str(CJK_FILE), subfontIndex=0))
    # WenQuanYi has no bold face: <b> around Chinese keeps the regular one.
    pdfmetrics.registerFontFamily(CJK, normal=CJK, bold=CJK, italic=CJK, boldItalic=CJK)


def needs_cjk_font(char: str) -> bool:
    code = ord(char)
    if any(low <= code <= high for low, high in CJK_RANGES):
        return True
    # Whatever DejaVu cannot draw (Thai, Devanagari …) goes to the larger font.
    return code not in pdfmetrics.getFont(SANS).face.charToGlyph


def markup(text: str) -> str:
    """Escape text for a Paragraph; runs DejaVu cannot draw switch to the CJK font."""
    runs: list[tuple[bool, str]] = []
    for char in text:
        cjk = needs_cjk_font(char)
        if runs and runs[-1][0] == cjk:
            runs[-1] = (cjk, runs[-1][1] + char)
        else:
            runs.append((cjk, char))
    return "".join(f'<font name="{CJK}">{escape(run)}</font>' if cjk else escape(run) for cjk, run in runs)
