"""The Content-Security-Policy: scripts come from this site's files only. No template holds an inline script,
an inline event handler or a javascript: URL, and every page is served with the policy."""

import re
from pathlib import Path

import pytest
from django.conf import settings

TEMPLATES = Path(settings.BASE_DIR) / "templates"
SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"""\son[a-z]+\s*=\s*["']""", re.IGNORECASE)


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


def inline_scripts(html: str) -> list[str]:
    return [
        attrs for attrs in SCRIPT_TAG.findall(html) if "src=" not in attrs and "application/json" not in attrs
    ]


@pytest.mark.parametrize(
    "template", sorted(TEMPLATES.rglob("*.html")), ids=lambda path: str(path.relative_to(TEMPLATES))
)
def test_no_template_holds_inline_script(template):
    text = template.read_text()
    assert inline_scripts(text) == []
    assert EVENT_HANDLER.findall(text) == []
    assert "javascript:" not in text.lower()
    # htmx runs hx-on attributes and trigger filters ([...]) as code, which the policy forbids.
    assert "hx-on" not in text
    assert re.search(r"""hx-trigger="[^"]*\[""", text) is None


def test_the_policy_allows_scripts_from_this_site_only(client, db):
    response = client.get("/login/")

    policy = directives(response)
    assert policy["script-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["img-src"] == ["'self'", "data:"]
    assert inline_scripts(response.content.decode()) == []


@pytest.mark.parametrize(
    "url", ["/", "/customers/", "/pos/queue/", "/pos/register/", "/compliance/sync/", "/admin/"]
)
def test_pages_of_a_signed_in_manager_have_the_policy_and_no_inline_script(client, manager, url):
    client.force_login(manager)

    response = client.get(url, follow=True)

    assert response.status_code == 200
    assert directives(response)["script-src"] == ["'self'"]
    assert inline_scripts(response.content.decode()) == []


@pytest.mark.parametrize("url", ["/api/docs/", "/api/redoc/"])
def test_the_api_docs_have_no_inline_script(client, db, url):
    response = client.get(url)

    assert response.status_code == 200
    assert directives(response)["script-src"] == ["'self'"]
    assert inline_scripts(response.content.decode()) == []


def test_swagger_ui_start_up_script_is_a_file(client, db):
    page = client.get("/api/docs/").content.decode()
    [script_url] = re.findall(r'<script src="(/api/docs/\?[^"]*)"', page)

    script = client.get(script_url.replace("&amp;", "&"))

    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()
    assert "/api/schema/" in script.content.decode()
