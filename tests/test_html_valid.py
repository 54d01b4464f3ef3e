"""Every page in tests/pages.py, in every language, and the error pages are valid HTML for the
Nu HTML checker (vnu.jar, from the npm package vnu-jar that tests/tools/package.json pins; run with Java).

All pages go to the checker in one run, so the cost is one Java start-up. Without Java or
vnu.jar (`make install-dev`) this test skips; with REQUIRE_BROWSER=1 (set by .ci/run) it fails instead.
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.template.loader import render_to_string
from django.test import Client

from .auth import login_staff
from .pages import ANYONE, CREW, LANGUAGES, STAFF, demo_objects

VNU_JAR = Path(
    os.environ.get(
        "VNU_JAR",
        Path(settings.BASE_DIR)
        / "tests"
        / "tools"
        / "node_modules"
        / "vnu-jar"
        / "build"
        / "dist"
        / "vnu.jar",
    )
)


def _vnu_command() -> list[str]:
    java = shutil.which("java")
    if java is None or not VNU_JAR.exists():
        message = f"The HTML check needs Java and {VNU_JAR} (apt-get install default-jre-headless; make install-dev)"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return [java, "-Xss4m", "-jar", str(VNU_JAR)]


def _file_name(language: str, path: str) -> str:
    slug = "".join(c if c.isalnum() else "-" for c in path.strip("/")) or "home"
    return f"{language}--{slug[:120]}.html"


def _error_pages(language: str) -> dict[str, bytes]:
    """The public error pages, as a visitor gets them (DEBUG off)."""
    client = Client(headers={"accept-language": language})
    return {
        "404": client.get("/no-such-page/").content,
        "403": Client(enforce_csrf_checks=True, headers={"accept-language": language})
        .post("/accounts/login/", {"username": "a@example.com"})
        .content,
        "400": client.get("/sets/?category=%00").content,
        "413": client.post(
            "/accounts/login/", data=b"", content_type="text/plain", CONTENT_LENGTH="999999999"
        ).content,
        # The 500 page is rendered without a request (the handler cannot trust one).
        "500": render_to_string("500.html").encode(),
    }


def _report(messages: list[dict], folder: Path) -> str:
    """One paragraph per distinct error: where it is (the first few pages) and the markup."""
    by_error: dict[str, list[dict]] = {}
    for message in messages:
        by_error.setdefault(message.get("message", "?"), []).append(message)
    lines = [f"{len(messages)} HTML errors, {len(by_error)} different ones (pages in {folder}):"]
    for text, found in by_error.items():
        places = [f"{m.get('url', '').rsplit('/', 1)[-1]}:{m.get('lastLine', '?')}" for m in found]
        more = f" and {len(places) - 3} more" if len(places) > 3 else ""
        lines.append(f"\n- {text}\n  in {', '.join(places[:3])}{more}")
        if found[0].get("extract"):
            lines.append(f"  {found[0]['extract'].strip()!r}")
    return "\n".join(lines)


@pytest.mark.django_db
def test_every_page_and_error_page_is_valid_html(settings, tmp_path_factory):
    command = _vnu_command()
    settings.DEBUG = False
    demo = demo_objects()
    folder = tmp_path_factory.mktemp("html")
    clients = {ANYONE: Client(), CREW: Client(), STAFF: Client()}
    clients[CREW].force_login(demo.crew_member)
    login_staff(clients[STAFF], demo.staff)
    for language in LANGUAGES:
        for audience, client in clients.items():
            client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
            for path in demo.pages(audience):
                response = client.get(path)
                assert response.status_code == 200, (language, path, response.status_code)
                (folder / _file_name(language, path)).write_bytes(response.content)
        for name, content in _error_pages(language).items():
            (folder / f"{language}--error-{name}.html").write_bytes(content)

    result = subprocess.run(
        [*command, "--errors-only", "--format", "json", "--exit-zero-always", str(folder)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    messages = json.loads(result.stderr)["messages"]
    assert len(list(folder.glob("*.html"))) == len(LANGUAGES) * (
        len(demo.pages()) + 5
    )  # and the five error pages
    assert not messages, _report(messages, folder)
