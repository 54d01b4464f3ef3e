"""The crew's calendar feed link: one tap copies it, and without JavaScript it can still be selected."""

from playwright.sync_api import expect

from ..factories import PASSWORD, CrewOwnerFactory
from .test_booking import log_in


def _feed_url(live_server, owner) -> str:
    return f"{live_server.url}/bookings/feed/{owner.crew.calendar_token}.ics?lang={owner.language}"


def test_the_copy_button_copies_the_feed_link_and_says_so(page, live_server):
    owner = CrewOwnerFactory()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    log_in(page, owner.email)
    page.goto("/crew/")

    field = page.locator("#calendar-feed-url")
    expect(field).to_have_value(_feed_url(live_server, owner))
    page.get_by_role("button", name="Copy", exact=True).click()

    assert page.evaluate("navigator.clipboard.readText()") == _feed_url(live_server, owner)
    status = page.get_by_role("status")
    expect(status).to_have_text("Copied")
    button = page.locator("[data-copy-from=calendar-feed-url]")
    expect(button).to_have_text("Copied")
    expect(button).to_have_text("Copy", timeout=5_000)


def test_the_field_selects_the_whole_link_when_focused(page, live_server):
    owner = CrewOwnerFactory()
    log_in(page, owner.email)
    page.goto("/crew/")

    page.locator("#calendar-feed-url").focus()

    assert page.evaluate(
        "window.getSelection().toString() || document.activeElement.value.substring("
        "document.activeElement.selectionStart, document.activeElement.selectionEnd)"
    ) == (_feed_url(live_server, owner))


def test_without_javascript_there_is_no_dead_button_and_the_link_is_there_to_copy(browser, live_server):
    owner = CrewOwnerFactory()
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto("/accounts/login/")
        page.locator("#id_username").fill(owner.email)
        page.locator("#id_password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.goto("/crew/")

        expect(page.get_by_role("button", name="Copy", exact=True)).to_be_hidden()
        field = page.locator("#calendar-feed-url")
        expect(field).to_have_value(_feed_url(live_server, owner))
        expect(field).not_to_be_editable()
    finally:
        context.close()
