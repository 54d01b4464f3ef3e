import re

from playwright.sync_api import expect

from bookings.models import User


def open_menu(page):
    """Phones see a collapsed navbar: open it and wait until it has finished opening."""
    page.get_by_role("button", name="Toggle navigation").click()
    expect(page.locator("#main-nav")).to_have_class(re.compile(r"\bshow\b"))


def set_password_path(mail) -> str:
    return re.search(r"https?://[^/\s]+(/accounts/password/reset/[\w-]+/[\w-]+/)", mail.body).group(1)


def test_a_coordinator_signs_up_their_crew_chooses_a_password_from_the_email_and_lands_on_its_bookings(
    page, mailoutbox
):
    page.goto("/")
    open_menu(page)
    page.get_by_role("link", name="Sign up").click()
    expect(page).to_have_url(re.compile(r"/accounts/signup/$"))
    expect(page.locator("#id_password1")).to_have_count(0)

    page.get_by_label("Company name").fill("Golden Phoenix Shorts")
    page.get_by_label("Contact phone").fill("+86 579 8655 1234")
    page.get_by_label("Country").select_option("CN")
    page.get_by_label("Your name").fill("Line producer")
    page.get_by_label("Email").fill("lp@goldenphoenix.example")
    page.get_by_role("button", name="Create account").click()

    expect(page).to_have_url(re.compile(r"/accounts/signup/sent/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")
    user = User.objects.get(email="lp@goldenphoenix.example")
    assert not user.has_usable_password()
    (mail,) = mailoutbox
    assert mail.to == ["lp@goldenphoenix.example"]

    page.goto(set_password_path(mail))
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose a password")
    page.locator("#id_new_password1").fill("short")
    page.locator("#id_new_password2").fill("short")
    page.get_by_role("button", name="Save password").click()
    # A weak password is refused next to the field, and nothing is saved.
    expect(page.locator("#div_id_new_password2")).to_contain_text("too short")
    user.refresh_from_db()
    assert not user.has_usable_password()

    page.locator("#id_new_password1").fill("red-lanterns-at-dusk-7")
    page.locator("#id_new_password2").fill("red-lanterns-at-dusk-7")
    page.get_by_role("button", name="Save password").click()

    # A new crew lands on its bookings, with a prompt to book its first set.
    expect(page).to_have_url(re.compile(r"/bookings/$"))
    expect(page.locator(".alert-success")).to_contain_text("Your password is set, and you are logged in.")
    expect(page.locator("#first-booking")).to_contain_text("Book your first set")
    page.goto("/crew/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Golden Phoenix Shorts")
    expect(page.locator("#crew-members")).to_contain_text("lp@goldenphoenix.example")
    user.refresh_from_db()
    assert user.check_password("red-lanterns-at-dusk-7")
    assert user.crew.name == "Golden Phoenix Shorts"
    assert user.is_crew_owner

    # The link worked once.
    page.goto(set_password_path(mail))
    expect(page.get_by_role("heading", level=1)).to_have_text("This link has expired")


def test_the_language_switcher_changes_the_page(page):
    page.goto("/")
    open_menu(page)
    page.get_by_label("Language").select_option("es")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.locator(".navbar-brand")).to_have_text("Reservas de Estudios Hengdian")
