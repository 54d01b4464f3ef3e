"""At the store's counter, on a phone: two tagged camera kits go out, one comes back damaged."""

from playwright.sync_api import expect

from bookings.models import EquipmentUnit, Handover
from hengdian.roles import EQUIPMENT_STORE

from ..bookings.test_store import confirmed_booking, line_of, today, tracked_kind
from ..factories import PASSWORD, StaffMemberFactory
from .conftest import admin_log_in
from .test_booking import log_in


def test_a_clerk_hands_out_two_camera_kits_and_takes_one_back_damaged(page, browser, live_server, tmp_path):
    camera = tracked_kind(
        ["CAM-0001", "CAM-0002", "CAM-0003"], name_en="Vertical camera kit", slug="vertical-camera-kit"
    )
    booking = confirmed_booking(camera, 2)
    member = booking.crew.members.first()
    key = f"item-{line_of(booking).pk}"
    clerk = StaffMemberFactory(roles=[EQUIPMENT_STORE])

    store = browser.new_context(
        base_url=live_server.url, locale="en-GB", viewport={"width": 390, "height": 844}
    )
    store.set_default_timeout(15_000)
    counter = store.new_page()
    admin_log_in(counter, clerk, PASSWORD)
    counter.goto("/admin/bookings/handover/store/")
    line = counter.locator(f"#line-{key}")
    expect(line).to_have_attribute("data-state", "reserved")
    # Typed as a clerk types (or a scanner enters) them: lower case, one per line.
    line.get_by_label("Asset tags").fill("cam-0001\ncam-0002")
    line.get_by_label("Collected by").select_option(str(member.pk))
    line.get_by_role("button", name="Hand out").click()
    expect(counter.locator(".messagelist")).to_contain_text("CAM-0001, CAM-0002")
    expect(counter.locator(f"#line-{key}")).to_have_attribute("data-state", "out")
    # Nothing on the page is wider than the phone.
    assert counter.evaluate("document.documentElement.scrollWidth") <= 390
    counter.screenshot(path=tmp_path / "store-out.png", full_page=True)

    log_in(page, member.email)
    page.goto(booking.get_absolute_url())
    expect(page.locator(f"#equipment-lines [data-line='{key}']")).to_contain_text("Collected")

    counter.goto("/admin/bookings/handover/store/")
    returning = counter.locator("#return")
    returning.get_by_label("Asset tag").fill("CAM-0002")
    returning.get_by_role("radio", name="Damaged").check()
    returning.get_by_label("What is damaged").fill("Cracked monitor hood")
    returning.get_by_role("button", name="Take back").click()
    expect(counter.locator(".messagelist")).to_contain_text("in repair")
    expect(counter.locator(f"#line-{key}")).to_have_attribute("data-state", "partly-returned")
    counter.screenshot(path=tmp_path / "store-damaged.png", full_page=True)

    counter.goto(f"/admin/bookings/booking/equipment-occupancy/?start={today().isoformat()}")
    cell = counter.locator(f"tr[data-equipment='vertical-camera-kit'] td[data-day='{today().isoformat()}']")
    expect(cell).to_have_attribute("data-in-repair", "1")
    expect(cell).to_have_attribute("data-out", "1")
    store.close()

    page.goto(booking.get_absolute_url())
    expect(page.locator(f"#equipment-lines [data-line='{key}']")).to_contain_text("Partly returned")
    assert EquipmentUnit.objects.get(asset_tag="CAM-0002").status == EquipmentUnit.Status.IN_REPAIR
    assert Handover.objects.out().get().unit.asset_tag == "CAM-0001"
