"""The store's counter page, the crew's view of its equipment, and the asset labels."""

import re
import subprocess
from datetime import timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from bookings import services
from bookings.models import Blackout, EquipmentUnit, Handover
from hengdian.roles import EQUIPMENT_STORE, VIEWER

from ..auth import login_staff
from ..factories import CrewMemberFactory, StaffMemberFactory
from .test_set_photos import png_bytes
from .test_store import confirmed_booking, line_of, today, tracked_kind

URL = "admin:bookings_handover_store"


@pytest.fixture
def clerk_client(client, db):
    return login_staff(client, StaffMemberFactory(roles=[EQUIPMENT_STORE]))


def _line_block(html: str, key: str) -> str:
    start = html.index(f'id="line-{key}"')
    end = html.find('class="store-line', start + 1)
    return html[start : end if end != -1 else len(html)]


@pytest.mark.django_db
def test_a_clerk_hands_out_two_tagged_units_on_the_page_and_the_crew_sees_them_collected(
    clerk_client, client
):
    kind = tracked_kind(["CAM-0001", "CAM-0002", "CAM-0003"], name_en="Vertical camera kit")
    booking = confirmed_booking(kind, 2)
    line = line_of(booking)
    member = booking.crew.members.first()
    key = f"item-{line.pk}"

    page = clerk_client.get(reverse(URL))
    assert page.status_code == 200
    assert booking.plan.reference in page.text and 'data-state="reserved"' in _line_block(page.text, key)

    response = clerk_client.post(
        reverse(URL),
        {
            "action": "check-out",
            "line": key,
            f"{key}-asset_tags": "cam-0001\nCAM-0002",
            f"{key}-collected_by": member.pk,
        },
    )

    assert response.status_code == 302
    assert sorted(Handover.objects.values_list("unit__asset_tag", flat=True)) == ["CAM-0001", "CAM-0002"]
    page = clerk_client.get(reverse(URL))
    assert 'data-state="out"' in _line_block(page.text, key)

    client.force_login(member)
    crew_page = client.get(booking.get_absolute_url())
    assert re.search(r'data-line="item-\d+" data-state="out"', crew_page.text)
    assert "Collected" in crew_page.text


@pytest.mark.django_db
def test_a_tag_that_cannot_go_is_said_next_to_the_tags_and_nothing_is_handed_out(clerk_client):
    kind = tracked_kind(["CAM-0001"])
    booking = confirmed_booking(kind, 1)
    key = f"item-{line_of(booking).pk}"

    response = clerk_client.post(
        reverse(URL),
        {
            "action": "check-out",
            "line": key,
            f"{key}-asset_tags": "CAM-0404",
            f"{key}-collected_by_name": "Lin",
        },
    )

    assert response.status_code == 200
    field = re.search(
        r'<div class="store-field errors">.*?</div>\s*</div>|<div class="store-field errors">.*?<ul class="errorlist',
        response.text,
        re.S,
    )
    assert field and f"{key}-asset_tags" in field.group(0)
    assert "No unit has the tag CAM-0404." in response.text
    assert not Handover.objects.exists()

    response = clerk_client.post(
        reverse(URL), {"action": "check-out", "line": key, f"{key}-asset_tags": "CAM-0001"}
    )
    assert response.status_code == 200
    assert "Say who collects" in response.text
    assert not Handover.objects.exists()


@pytest.mark.django_db
def test_a_damaged_return_with_a_photo_puts_the_unit_in_repair(clerk_client, private_storage):
    kind = tracked_kind(["CAM-0001", "CAM-0002"])
    booking = confirmed_booking(kind, 2)
    services.handover_check_out(
        line=line_of(booking),
        asset_tags=["CAM-0001", "CAM-0002"],
        collected_by_name="Lin",
        by=booking.created_by,
    )

    missing_note = clerk_client.post(
        reverse(URL), {"action": "return", "return-asset_tag": "CAM-0001", "return-condition": "damaged"}
    )
    assert missing_note.status_code == 200 and "Say what is damaged." in missing_note.text
    assert Handover.objects.out().count() == 2

    response = clerk_client.post(
        reverse(URL),
        {
            "action": "return",
            "return-asset_tag": "cam-0001",
            "return-condition": "damaged",
            "return-return_note": "Cracked monitor",
            "return-return_photo": SimpleUploadedFile("damage.png", png_bytes(), content_type="image/png"),
        },
    )

    assert response.status_code == 302
    handover = Handover.objects.get(unit__asset_tag="CAM-0001")
    assert (handover.condition, handover.return_note) == ("damaged", "Cracked monitor")
    assert handover.return_photo.name.startswith("returns/CAM-0001/")
    assert EquipmentUnit.objects.get(asset_tag="CAM-0001").status == EquipmentUnit.Status.IN_REPAIR
    page = clerk_client.get(reverse(URL))
    assert 'data-state="partly-returned"' in _line_block(page.text, f"item-{line_of(booking).pk}")


@pytest.mark.django_db
def test_a_viewer_sees_the_counter_but_cannot_hand_out_or_take_back(client):
    kind = tracked_kind(["CAM-0001"])
    booking = confirmed_booking(kind, 1)
    key = f"item-{line_of(booking).pk}"
    login_staff(client, StaffMemberFactory(roles=[VIEWER]))

    page = client.get(reverse(URL))
    assert page.status_code == 200 and "store-checkout" not in page.text and 'id="return"' not in page.text
    out = client.post(
        reverse(URL),
        {
            "action": "check-out",
            "line": key,
            f"{key}-asset_tags": "CAM-0001",
            f"{key}-collected_by_name": "X",
        },
    )
    back = client.post(
        reverse(URL), {"action": "return", "return-asset_tag": "CAM-0001", "return-condition": "ok"}
    )
    assert (out.status_code, back.status_code) == (403, 403)
    assert not Handover.objects.exists()


@pytest.mark.django_db
def test_a_line_that_no_longer_exists_or_an_unknown_action_is_a_clear_answer(clerk_client):
    gone = clerk_client.post(reverse(URL), {"action": "check-out", "line": "item-999999"}, follow=True)
    assert gone.status_code == 200 and "no longer exists" in gone.text
    assert clerk_client.post(reverse(URL), {"action": "dance"}).status_code == 400


@pytest.mark.django_db
def test_the_counter_page_may_use_the_camera_and_no_other_page_may(clerk_client):
    page = clerk_client.get(reverse(URL))
    assert "camera=(self)" in page.headers["Permissions-Policy"]
    assert "camera=()" in clerk_client.get(reverse("admin:index")).headers["Permissions-Policy"]


def _shooting_today(plans: int) -> None:
    kind = tracked_kind([f"CAM-{i:04d}" for i in range(plans * 2)])
    gimbal = tracked_kind([f"GIM-{i:04d}" for i in range(plans)])
    for i in range(plans):
        booking = confirmed_booking(kind, 2)
        CrewMemberFactory(crew=booking.crew)
        services.handover_check_out(
            line=line_of(booking),
            asset_tags=[f"CAM-{2 * i:04d}"],
            collected_by_name="Lin",
            by=booking.created_by,
        )
        services.handover_return(asset_tag=f"CAM-{2 * i:04d}", condition="ok", by=booking.created_by)
        services.handover_check_out(
            line=line_of(booking),
            asset_tags=[f"CAM-{2 * i + 1:04d}"],
            collected_by_name="Lin",
            by=booking.created_by,
        )
        later = confirmed_booking(gimbal, 1, start=today() + timedelta(days=3))
        assert later


@pytest.mark.django_db
@pytest.mark.parametrize("plans", [1, 8])
def test_the_counter_page_uses_a_fixed_number_of_queries(clerk_client, django_assert_num_queries, plans):
    _shooting_today(plans)
    # session, user, device, groups' permissions; plans under way; units out; plans; their parts,
    # lines, line handovers, whole-plan lines, their handovers, crew members; kits; units in repair
    with django_assert_num_queries(15):
        page = clerk_client.get(reverse(URL))
    assert page.text.count('class="store-card') == plans


@pytest.mark.django_db
def test_the_crews_pages_show_line_states_with_a_fixed_number_of_queries(client):
    kind = tracked_kind([f"CAM-{i:04d}" for i in range(8)])
    booking = confirmed_booking(kind, 1)
    client.force_login(booking.crew.members.first())

    def queries_for_page() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(booking.get_absolute_url()).status_code == 200
        return len(queries)

    few = queries_for_page()
    for i in range(1, 7):  # more of the crew's bookings, with units out and back
        other = confirmed_booking(kind, 1, crew=booking.crew)
        services.handover_check_out(
            line=line_of(other), asset_tags=[f"CAM-{i:04d}"], collected_by_name="Lin", by=other.created_by
        )
    services.handover_check_out(
        line=line_of(booking), asset_tags=["CAM-0000"], collected_by_name="Lin", by=booking.created_by
    )
    services.handover_return(asset_tag="CAM-0000", condition="ok", by=booking.created_by)

    assert queries_for_page() == few


@pytest.mark.django_db
def test_labels_print_as_a_pdf_with_each_units_tag(client, staff_admin):
    kind = tracked_kind(["CAM-0001", "CAM-0002"], name_en="Vertical camera kit")
    login_staff(client, staff_admin)

    response = client.post(
        reverse("admin:bookings_equipmentunit_changelist"),
        {"action": "print_labels", "_selected_action": list(kind.units.values_list("pk", flat=True))},
    )

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=response.content, capture_output=True, check=True
    ).stdout
    assert b"CAM-0001" in text and b"CAM-0002" in text and b"Vertical camera kit" in text


@pytest.mark.django_db
def test_a_unit_added_in_the_admin_counts_for_a_kind_that_tracks_units(client, staff_admin):
    kind = tracked_kind(["CAM-0001"])
    login_staff(client, staff_admin)

    response = client.post(
        reverse("admin:bookings_equipmentunit_add"),
        {"equipment": kind.pk, "asset_tag": "cam-0002", "serial_number": "SN 9", "notes": ""},
    )
    duplicate = client.post(
        reverse("admin:bookings_equipmentunit_add"),
        {"equipment": kind.pk, "asset_tag": "CAM-0002", "serial_number": "", "notes": ""},
    )

    assert response.status_code == 302
    kind.refresh_from_db()
    assert kind.stock == 2 and EquipmentUnit.objects.filter(asset_tag="CAM-0002").exists()
    assert duplicate.status_code == 200 and "already exists" in duplicate.text


def _cell(html: str, slug: str, day) -> dict[str, str]:
    row = html[html.index(f'<tr data-equipment="{slug}"') :]
    cell = re.search(rf'<td class="cell[^"]*" data-day="{day.isoformat()}"([^>]*)>', row).group(1)
    return dict(re.findall(r'data-([a-z-]+)="([^"]*)"', cell))


@pytest.mark.django_db
def test_the_equipment_grid_shows_units_out_and_in_repair(client, staff_admin):
    kind = tracked_kind(["CAM-0001", "CAM-0002", "CAM-0003"], slug="vertical-camera-kit")
    booking = confirmed_booking(kind, 2, days=2)
    services.handover_check_out(
        line=line_of(booking),
        asset_tags=["CAM-0001", "CAM-0002"],
        collected_by_name="Lin",
        by=booking.created_by,
    )
    services.handover_return(asset_tag="CAM-0002", condition="damaged", note="Cracked", by=booking.created_by)
    login_staff(client, staff_admin)

    page = client.get(reverse("admin:bookings_booking_equipment_occupancy")).text

    first, second, later = today(), today() + timedelta(days=1), today() + timedelta(days=5)
    assert _cell(page, "vertical-camera-kit", first) == {
        "free": "0",
        "promised": "2",
        "blacked-out": "0",
        "in-repair": "1",
        "out": "1",
    }
    assert (
        _cell(page, "vertical-camera-kit", second)["out"],
        _cell(page, "vertical-camera-kit", second)["free"],
    ) == ("1", "0")
    assert _cell(page, "vertical-camera-kit", later) == {
        "free": "2",
        "promised": "0",
        "blacked-out": "0",
        "in-repair": "1",
        "out": "0",
    }


def _equipment_post(kind, **changes) -> dict:
    data = {
        "name_en": kind.name_en,
        "slug": kind.slug,
        "category": kind.category,
        "daily_rate": "1200",
        "stock": str(kind.stock),
        "kit_pricing": kind.kit_pricing,
        "is_active": "on",
        "components-TOTAL_FORMS": "0",
        "components-INITIAL_FORMS": "0",
    }
    data.update(changes)
    return data


@pytest.mark.django_db
def test_ticking_tracks_units_in_the_admin_makes_the_stock_the_units_owned(client, staff_admin):
    from ..factories import EquipmentFactory

    kind = EquipmentFactory(stock=5, name_en="Gimbal")
    confirmed_booking(kind, 3, start=today() + timedelta(days=4))
    for tag in ("GIM-0001", "GIM-0002"):
        services.unit_add(equipment=kind, asset_tag=tag)
    login_staff(client, staff_admin)
    url = reverse("admin:bookings_equipment_change", args=[kind.pk])

    refused = client.post(url, _equipment_post(kind, tracks_units="on"))

    assert refused.status_code == 200
    assert "Crews hold up to 3 units" in refused.text
    kind.refresh_from_db()
    assert (kind.tracks_units, kind.stock) == (False, 5)

    services.unit_add(equipment=kind, asset_tag="GIM-0003")
    services.unit_add(equipment=kind, asset_tag="GIM-0004")
    saved = client.post(url, _equipment_post(kind, tracks_units="on", stock="99"))

    assert saved.status_code == 302
    kind.refresh_from_db()
    assert (kind.tracks_units, kind.stock) == (True, 4)
    page = client.get(url).text
    assert 'name="stock"' not in page  # counted from the units from now on


@pytest.mark.django_db
def test_the_handovers_list_filters_the_overdue_units(client, staff_admin):
    kind = tracked_kind(["CAM-0001", "CAM-0002", "CAM-0003"])
    past = confirmed_booking(kind, 1, days=1)
    running = confirmed_booking(kind, 1, days=3)
    back = confirmed_booking(kind, 1, days=1)
    for booking, tag in ((past, "CAM-0001"), (running, "CAM-0002"), (back, "CAM-0003")):
        services.handover_check_out(
            line=line_of(booking), asset_tags=[tag], collected_by_name="Lin", by=booking.created_by
        )
    services.handover_return(asset_tag="CAM-0003", condition="ok", by=back.created_by)
    url = reverse("admin:bookings_handover_changelist")

    with time_machine.travel(timezone.now() + timedelta(days=1), tick=False):
        login_staff(client, staff_admin)
        overdue = client.get(url, {"state": "overdue"}).text
        out = client.get(url, {"state": "out"}).text

    assert "CAM-0001" in overdue and "CAM-0002" not in overdue and "CAM-0003" not in overdue
    assert "CAM-0001" in out and "CAM-0002" in out and "CAM-0003" not in out


@pytest.mark.django_db
def test_a_unit_back_from_repair_is_marked_repaired_at_the_counter(clerk_client):
    kind = tracked_kind(["CAM-0001"])
    booking = confirmed_booking(kind, 1)
    services.handover_check_out(
        line=line_of(booking), asset_tags=["CAM-0001"], collected_by_name="Lin", by=booking.created_by
    )
    services.handover_return(
        asset_tag="CAM-0001", condition="damaged", note="Loose mount", by=booking.created_by
    )
    unit = EquipmentUnit.objects.get()

    page = clerk_client.get(reverse(URL)).text
    assert 'data-unit="CAM-0001"' in page and "Loose mount" in page

    viewer = login_staff(Client(), StaffMemberFactory(roles=[VIEWER]))
    assert viewer.post(reverse(URL), {"action": "repaired", "unit": unit.pk}).status_code == 403
    response = clerk_client.post(reverse(URL), {"action": "repaired", "unit": unit.pk}, follow=True)

    assert "CAM-0001 is available again." in response.text
    assert EquipmentUnit.objects.get().status == EquipmentUnit.Status.AVAILABLE
    assert 'data-unit="CAM-0001"' not in response.text
    again = clerk_client.post(reverse(URL), {"action": "repaired", "unit": unit.pk}, follow=True)
    assert "is not in repair" in again.text


@pytest.mark.django_db
def test_a_kit_line_at_the_counter_lists_its_tagged_and_untagged_parts(clerk_client):
    from ..factories import EquipmentFactory, KitComponentFactory

    camera = tracked_kind(["CAM-0001"], name_en="Camera kit")
    cable = EquipmentFactory(stock=50, name_en="SDI cable")
    kit = EquipmentFactory(stock=0, name_en="Interview package")
    KitComponentFactory(kit=kit, component=camera, quantity=1)
    KitComponentFactory(kit=kit, component=cable, quantity=4)
    booking = confirmed_booking(kit, 1)

    block = _line_block(clerk_client.get(reverse(URL)).text, f"item-{line_of(booking).pk}")

    assert "Hand out:" in block
    assert "1 × Camera kit" in block
    assert "With it, without tags: 4 × SDI cable" in block


@pytest.mark.django_db
def test_a_kinds_page_links_its_units_and_a_sheet_of_their_labels(client, staff_admin):
    kind = tracked_kind(["GIM-0001", "GIM-0002", "GIM-0003"], name_en="Gimbal")
    services.unit_retire(unit=EquipmentUnit.objects.get(asset_tag="GIM-0003"), by=staff_admin)
    login_staff(client, staff_admin)

    page = client.get(reverse("admin:bookings_equipment_change", args=[kind.pk])).text
    labels_url = reverse("admin:bookings_equipmentunit_labels", args=[kind.pk])
    assert "2 units" in page and labels_url in page

    response = client.get(labels_url)
    assert response["Content-Type"] == "application/pdf"
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=response.content, capture_output=True, check=True
    ).stdout
    assert b"GIM-0001" in text and b"GIM-0002" in text and b"GIM-0003" not in text
    assert client.get(reverse("admin:bookings_equipmentunit_labels", args=[999999])).status_code == 404


@pytest.mark.django_db
def test_a_repair_shows_among_the_blackouts_but_only_the_store_ends_it(client, staff_admin):
    kind = tracked_kind(["CAM-0001"])
    booking = confirmed_booking(kind, 1)
    services.handover_check_out(
        line=line_of(booking), asset_tags=["CAM-0001"], collected_by_name="Lin", by=booking.created_by
    )
    services.handover_return(asset_tag="CAM-0001", condition="damaged", note="Dent", by=booking.created_by)
    repair = Blackout.objects.get()
    login_staff(client, staff_admin)

    listed = client.get(reverse("admin:bookings_blackout_changelist")).text
    page = client.get(reverse("admin:bookings_blackout_change", args=[repair.pk])).text
    deleted = client.post(reverse("admin:bookings_blackout_delete", args=[repair.pk]), {"post": "yes"})
    add_page = client.get(reverse("admin:bookings_blackout_add")).text

    assert "until repaired" in listed and "9999" not in listed
    assert 'name="end_date"' not in page  # read-only
    assert deleted.status_code == 403 and Blackout.objects.filter(pk=repair.pk).exists()
    assert 'value="repair"' not in add_page
