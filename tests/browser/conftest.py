"""Real headless Chromium (Debian's /usr/bin/chromium) driven by Playwright against a live server.

Without Chromium these tests skip locally; with REQUIRE_BROWSER=1 (set by .ci/run) they fail instead.
"""

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]


def pytest_collection_modifyitems(config, items):
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        message = f"Chromium not found at {CHROMIUM} (apt-get install chromium chromium-driver)"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests
    # make between browser steps are ordinary synchronous code, so allow them here only.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(
        base_url=live_server.url, locale="en-GB", viewport={"width": 412, "height": 915}
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def admin_log_in(page, user, password: str) -> None:
    """Log a staff member into the admin as they would: password, then the code their app shows."""
    from tests.auth import current_code, staff_device

    device = staff_device(user)
    page.goto("/admin/login/")
    page.locator("#id_username").fill(user.email)
    page.locator("#id_password").fill(password)
    page.locator("input[type=submit]").click()
    page.locator("#id_code").fill(current_code(device))
    page.locator("main button[type=submit]").click()
    page.wait_for_url("**/admin/")
