"""At the door and after: a participant shows the QR code on a phone, the workshop desk checks
them in, and once the session is over the participant downloads a certificate naming them."""

import subprocess
from datetime import datetime, timedelta

import time_machine
from django.utils import timezone
from playwright.sync_api import expect

from hengdian.roles import WORKSHOP_DESK
from tests.factories import PASSWORD, EnrolmentFactory, SessionFactory, StaffMemberFactory
from workshops import services
from workshops.models import Attendance

from .conftest import admin_log_in


def _at(day, hour: int) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()).replace(hour=hour))


def test_the_desk_checks_in_the_code_shown_and_the_participant_downloads_the_certificate(
    page, browser, live_server, tmp_path
):
    first = timezone.localdate() + timedelta(days=1)
    session = SessionFactory(starts_at=_at(first, 9), ends_at=_at(first, 17))
    enrolment = EnrolmentFactory(session=session, full_name="Оксана Шевченко", needs_visa_letter=False)
    desk = StaffMemberFactory(roles=[WORKSHOP_DESK])

    with time_machine.travel(_at(first, 8), tick=True):
        # The participant opens their page on a phone, at the door.
        page.goto(enrolment.get_absolute_url())
        expect(page.locator("#checkin svg")).to_be_visible()
        shown = page.locator("#checkin-code").inner_text()
        page.screenshot(path=tmp_path / "door-qr.png", full_page=True)

        admin = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844})
        admin.set_default_timeout(15_000)
        desk_page = admin.new_page()
        admin_log_in(desk_page, desk, PASSWORD)
        desk_page.goto(f"/admin/workshops/session/{session.pk}/checkin/")
        desk_page.locator("#id_code").fill(shown.lower())
        desk_page.get_by_role("button", name="Check in").click()
        expect(desk_page.locator("#checkin-result")).to_contain_text("Оксана Шевченко")
        expect(desk_page.locator("#checkin-result")).to_contain_text("Checked in at 08:")
        assert desk_page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        desk_page.screenshot(path=tmp_path / "door-desk.png", full_page=True)
        admin.close()
    assert Attendance.objects.filter(enrolment=enrolment).count() == 1

    with time_machine.travel(_at(first, 18), tick=True):
        (certificate,) = services.certificates_issue_due()
        page.goto(enrolment.get_absolute_url())
        with page.expect_download() as download:
            page.locator("#certificate a").click()
        pdf = tmp_path / "certificate.pdf"
        download.value.save_as(pdf)

    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, check=True, text=True).stdout
    assert "Оксана Шевченко" in text
    assert certificate.number in text
