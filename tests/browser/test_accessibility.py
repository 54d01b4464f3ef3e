"""axe-core finds no serious or critical accessibility violation on any page in tests/pages.py,
in any language, as Chromium renders it (with our CSS and the Content-Security-Policy).

axe-core comes from npm (tests/tools/package.json pins it; `make install-dev` puts it in tests/tools/node_modules/). One test per
kind of visitor: the demo data is loaded once, the visitor is logged in once (a session cookie
handed to the browser), and each page is opened in three tabs, one per language, whose axe
runs overlap.
"""

import os
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from ..auth import login_staff
from ..pages import ANYONE, CREW, LANGUAGES, STAFF, demo_objects

AXE_JS = Path(settings.BASE_DIR) / "tests" / "tools" / "node_modules" / "axe-core" / "axe.min.js"
FAILING_IMPACTS = {"serious", "critical"}
# Crews and participants mostly use a phone; the studio's desks use a desktop screen.
VIEWPORTS = {
    ANYONE: {"width": 412, "height": 915},
    CREW: {"width": 412, "height": 915},
    STAFF: {"width": 1366, "height": 768},
}


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE_JS.exists():
        message = f"{AXE_JS} is missing (make install-dev)"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return AXE_JS.read_text(encoding="utf-8")


def _session_cookie(audience: str, demo) -> list[dict]:
    if audience == ANYONE:
        return []
    client = Client()
    if audience == CREW:
        client.force_login(demo.crew_member)
    else:
        login_staff(client, demo.staff)
    return [
        {"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value}
    ]


# Starts axe in the page and returns at once; the result is collected later from window.axeViolations.
START_AXE = """(impacts) => {
  window.axeViolations = axe.run(document, {resultTypes: ["violations"]})
    .then((results) => results.violations.filter((v) => impacts.includes(v.impact)));
}"""


def _report(found: dict[str, list[dict]]) -> str:
    lines = [f"axe found serious or critical violations on {len(found)} pages:"]
    for where, violations in found.items():
        lines.append(f"\n{where}")
        for violation in violations:
            lines.append(
                f"  [{violation['impact']}] {violation['id']}: {violation['help']} ({violation['helpUrl']})"
            )
            for node in violation["nodes"][:3]:
                summary = " ".join(node.get("failureSummary", "").split())
                lines.append(f"    {' '.join(node['target'])}: {node['html'][:160]}")
                lines.append(f"      {summary[:300]}")
            if len(violation["nodes"]) > 3:
                lines.append(f"    … and {len(violation['nodes']) - 3} more elements")
    return "\n".join(lines)


@pytest.mark.parametrize("audience", [ANYONE, CREW, STAFF])
def test_no_serious_accessibility_violations(browser, live_server, axe_source, audience):
    demo = demo_objects()
    session = _session_cookie(audience, demo)
    tabs = {}
    for language in LANGUAGES:
        context = browser.new_context(base_url=live_server.url, viewport=VIEWPORTS[audience])
        language_cookie = {"name": settings.LANGUAGE_COOKIE_NAME, "value": language}
        context.add_cookies([{**cookie, "url": live_server.url} for cookie in [*session, language_cookie]])
        # axe is loaded into every page through the DevTools protocol, before the page's own
        # scripts, so the Content-Security-Policy does not block it.
        context.add_init_script(axe_source)
        tabs[language] = context.new_page()
    found: dict[str, list[dict]] = {}
    for path in demo.pages(audience):
        for language, tab in tabs.items():
            response = tab.goto(path)
            assert response.status == 200, (language, path, response.status)
            tab.evaluate(START_AXE, sorted(FAILING_IMPACTS))
        for language, tab in tabs.items():
            if violations := tab.evaluate("window.axeViolations"):
                found[f"{language} {path}"] = violations
    for tab in tabs.values():
        tab.context.close()
    assert not found, _report(found)
