import io
import os
import shutil
import subprocess
import tempfile
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pypdf
import pytest
from django.test import override_settings
from django.utils import translation

from tests.factories import EnrolmentFactory, StaffFactory
from workshops.letters import invitation_letter_pdf
from workshops.models import InvitationLetter

pytestmark = pytest.mark.django_db

NUMBER = "HDW-2026-000042"


def _render(**enrolment_fields) -> tuple[bytes, str]:
    enrolment = EnrolmentFactory(**enrolment_fields)
    letter = InvitationLetter(enrolment=enrolment, number=NUMBER, issued_by=StaffFactory(), pdf="")
    data = invitation_letter_pdf(letter=letter)
    text = " ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)
    # Paragraphs wrap wherever the words fall: compare against one line.
    return data, " ".join(text.split())


def test_letter_holds_the_participant_and_workshop_details():
    data, text = _render(
        full_name="Thandiwe Mokoena",
        nationality="ZA",
        passport_number="A12345678",
        session__venue="Qin Palace Training Hall",
        session__workshop__title="Vertical framing for micro-drama",
    )

    assert data.startswith(b"%PDF")
    for expected in (
        "Thandiwe Mokoena",
        NUMBER,
        "A12345678",
        "South Africa",
        "Vertical framing for micro-drama",
        "Qin Palace Training Hall",
    ):
        assert expected in text
    metadata = pypdf.PdfReader(io.BytesIO(data)).metadata
    assert metadata.title == f"Invitation letter {NUMBER}"
    assert metadata.author == "Hengdian World Studios"


def test_dates_are_the_studio_days_in_english():
    # 23:30 in London is already the next day in Hengdian.
    starts_at = datetime(2027, 3, 14, 23, 30, tzinfo=ZoneInfo("Europe/London"))
    _, text = _render(session__starts_at=starts_at, date_of_birth=date(1990, 2, 3))

    assert "from 15 March 2027 to 19 March 2027" in text
    assert "3 February 1990" in text


def test_country_role_and_months_stay_english_whatever_the_active_language():
    with translation.override("zh-hans"):
        _, text = _render(nationality="DE", role="director", date_of_birth=date(1990, 2, 3))

    assert "Germany" in text
    assert "Director" in text
    assert "3 February 1990" in text


def test_each_half_names_the_workshop_and_venue_in_its_own_language_whoever_issues_it():
    fields = {
        "session__workshop__title_en": "Vertical framing",
        "session__workshop__title_zh_hans": "竖屏构图",
        "session__venue_en": "Qin Palace Training Hall",
        "session__venue_zh_hans": "秦王宫培训厅",
    }
    for language in ("zh-hans", "es", "en"):
        with translation.override(language):
            _, text = _render(**fields)
        english = text[text.index("is pleased to invite") :][:300]
        chinese = text[text.index("诚挚邀请") :][:200]
        assert "Vertical framing" in english and "Qin Palace Training Hall" in english, language
        assert "竖屏构图" in chinese and "秦王宫培训厅" in chinese, language
        assert "竖屏构图" not in english


@pytest.mark.parametrize("name", ["Анна Петрова", "José Núñez Álvarez"])
def test_latin_and_cyrillic_names_are_extractable(name):
    _, text = _render(full_name=name)

    assert name in text


def test_chinese_name_renders():
    data, text = _render(full_name="王小明")

    assert data.startswith(b"%PDF")
    assert NUMBER in text
    assert "王小明" in text


def test_name_mixing_scripts_keeps_both_parts():
    _, text = _render(full_name="李小龍 Bruce")

    assert "李小龍 Bruce" in text


def test_emoji_and_markup_characters_do_not_break_the_letter():
    data, text = _render(full_name="Zoë <b>&</b> 🎬")

    assert data.startswith(b"%PDF")
    # Escaped, not taken as markup: the characters appear as typed.
    assert "Zoë <b>&</b>" in text
    assert NUMBER in text


# --- Every script drawn, every font embedded, the text as typed ------------------------------

NAMES = ["张伟", "김민준", "Дмитрий Иванов", "José Núñez", "さとう はなこ"]


def _poppler(tool: str) -> str:
    """The path of a poppler tool; CI (REQUIRE_BROWSER=1, set by .ci/run) must have it."""
    path = shutil.which(tool)
    if path is None:
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"{tool} (poppler-utils) is missing; .ci/run installs it.")
        pytest.skip(f"{tool} (poppler-utils) is not installed")
    return path


def _run(tool: str, data: bytes, *args: str) -> str:
    with tempfile.TemporaryDirectory() as folder:
        pdf = Path(folder) / "letter.pdf"
        pdf.write_bytes(data)
        done = subprocess.run(
            [_poppler(tool), *args, str(pdf), *(["-"] if tool == "pdftotext" else [])],
            capture_output=True,
            check=True,
            timeout=60,
        )
    return done.stdout.decode()


@pytest.mark.parametrize("name", NAMES)
def test_pdftotext_and_pypdf_return_the_name_as_typed(name):
    data, text = _render(full_name=name)

    assert name in text  # pypdf
    assert name in _run("pdftotext", data, "-enc", "UTF-8")


def test_pdffonts_lists_every_font_as_embedded_and_subset():
    data, _ = _render(full_name="김민준 张伟 Дмитрий José")

    lines = _run("pdffonts", data).splitlines()
    header = lines[0].split()
    rows = [line for line in lines[2:] if line.strip()]
    emb, sub = header.index("emb"), header.index("sub")
    # name type encoding emb sub uni object ID: the name and type are single words here.
    fonts = {row.split()[0].split("+")[-1]: row.split() for row in rows}
    assert {"DejaVuSans", "DejaVuSans-Bold"} <= fonts.keys()
    assert any(font.startswith("WenQuanYiMicroHei") for font in fonts)
    for font, columns in fonts.items():
        # Type 1 and TrueType columns align the same way: "yes yes yes <id> 0" at the end.
        assert columns[-5:-3] == ["yes", "yes"], f"{font} is not embedded as a subset: {columns}"
    assert emb < sub


def test_no_font_is_left_to_the_reader():
    data, _ = _render(full_name="김민준")

    reader = pypdf.PdfReader(io.BytesIO(data))
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descriptor = (
                font.get("/FontDescriptor") or font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            )
            descriptor = descriptor.get_object()
            assert "/FontFile2" in descriptor, font["/BaseFont"]


# --- What a consulate expects -----------------------------------------------------------------


def test_letter_is_in_chinese_and_english():
    _, text = _render(nationality="KR", role="director")

    for english, chinese in (
        ("Letter of Invitation", "邀请函"),
        ("To the Visa Section, Embassy or Consulate General of the People's Republic of China", "签证处"),
        ("is pleased to invite", "诚挚邀请韩国公民"),
        ("South Korea", "韩国"),
        ("Director", "导演"),
        ("Yours faithfully", "此致敬礼"),
    ):
        assert english in text
        assert chinese in text


def test_planned_entry_and_exit_are_the_days_around_the_session():
    starts_at = datetime(2027, 3, 15, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    _, text = _render(session__starts_at=starts_at, session__ends_at=starts_at + timedelta(days=4, hours=8))

    assert "plans to enter China on 14 March 2027 and to leave China on 20 March 2027" in text
    assert "计划于2027年3月14日入境中国，并于2027年3月20日离境" in text.replace(" ", "")


@override_settings(
    INVITATION_LETTER_PHONE="+86 579 8655 1234", INVITATION_LETTER_EMAIL="visa@hengdian.example"
)
def test_department_phone_and_email_for_verification():
    _, text = _render()

    assert "telephone +86 579 8655 1234, email visa@hengdian.example" in text
    assert "电话 +86 579 8655 1234，电子邮箱 visa@hengdian.example" in text


@override_settings(INVITATION_LETTER_PHONE="", INVITATION_LETTER_EMAIL="visa@hengdian.example")
def test_without_a_phone_the_letter_gives_the_email_only():
    _, text = _render()

    assert "International Business Department: email visa@hengdian.example." in text
    assert "telephone" not in text


def test_the_participant_bears_the_costs():
    _, text = _render(session__workshop__fee=Decimal("5600"))

    assert (
        "The participant bears all costs of the visit: the workshop fee of CNY 5,600.00, "
        "international travel, accommodation, meals and insurance." in text
    )
    assert (
        "此次来访的全部费用，包括培训费人民币5,600.00元、国际旅费、住宿费、餐费及保险费，均由参加者本人承担。"
        in (text.replace(" ", ""))
    )


def test_a_free_workshop_says_so_and_the_participant_bears_the_rest():
    _, text = _render(session__workshop__fee=Decimal("0"))

    assert "The workshop is free of charge. The participant bears all other costs of the visit" in text
    assert "本次培训免费。此次来访的其他全部费用" in text.replace(" ", "")


def test_the_letter_fits_on_one_page_with_a_long_name_and_venue():
    data, _ = _render(
        full_name="Maria Fernanda de los Ángeles Gutiérrez Villanueva y Montenegro",
        nationality="MX",
        session__venue="Hengdian International Training Centre, Qin Palace Studio 3 rehearsal hall",
        session__workshop__title="Micro-drama production intensive: vertical framing, pacing and hooks",
    )

    assert len(pypdf.PdfReader(io.BytesIO(data)).pages) == 1
