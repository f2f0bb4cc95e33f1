# ruff: noqa: F811 - the fixtures imported are parameters of the tests
"""The flow editor in a real Chromium, at 1280x800 and on a 390x844 phone: the flows list, a flow's tree with
its branches and counts (nothing spilling sideways, the branch steps indented under their heading), and a text
step's form whose preview counts the characters as one types. Screenshots go to $BROWSER_SCREENSHOTS."""

import os
from pathlib import Path

import pytest

from messaging.models import Flow
from tests.browser.test_web_shell import CHROMIUM, browser, log_in  # noqa: F401 - the browser fixture
from tests.factories import OrganizationFactory, StoreFactory, UserFactory
from tests.messaging.flow_editor_helpers import enrol, run, sent, step, winback

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium executable at {CHROMIUM}"),
    pytest.mark.django_db(transaction=True),
]

SHOTS = Path(os.environ.get("BROWSER_SCREENSHOTS", "/tmp"))
OVERFLOW = """() => Array.from(document.querySelectorAll('body *')).filter((element) =>
    element.getBoundingClientRect().right > window.innerWidth + 1).map((element) =>
    element.tagName + '.' + element.className + ' ' + Math.round(element.getBoundingClientRect().right))"""


def watch(page):
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    return problems


def fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), page.evaluate(OVERFLOW)


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_flow_pages_read_well_on_a_desk_and_a_phone(live_server, browser, width, height):
    organization = OrganizationFactory()
    store = StoreFactory(organization=organization, name="Mission Street")
    manager = UserFactory(organization=organization, roles=["manager"], stores=[store])
    steps = winback(organization)
    flow = steps["flow"]
    ab = step(flow, "ab_split", {"share_a": 50, "winner": {"metric": "clicked", "after_days": 3}}, position=4)
    step(flow, "send_sms", {"body": "A: 15% off this weekend at {store_name}"}, parent=ab, branch="a")
    step(flow, "send_sms", {"body": "B: a free pre-roll with your next order"}, parent=ab, branch="b")
    Flow.objects.create(
        organization=organization,
        name="Birthday",
        trigger={"type": "date", "field": "birthday", "at": "10:00"},
    )
    for index in range(5):
        enrollment = enrol(flow, store=store)
        run(enrollment, steps["wait30"], "waited")
        sent(enrollment, steps["text"], engaged=["opened"] if index < 3 else [])
        run(enrollment, steps["split"], "yes" if index < 3 else "no")

    sync_api = pytest.importorskip("playwright.sync_api")
    page = browser.new_page(viewport={"width": width, "height": height})
    problems = watch(page)
    log_in(page, live_server.url, manager.username)
    page.goto(f"{live_server.url}/messaging/flows/")
    assert "30 days without a purchase" in page.locator(f"#flow-{flow.pk}").inner_text()
    page.screenshot(path=str(SHOTS / f"flows-list-{width}x{height}.png"), full_page=True)
    fits(page)

    page.goto(f"{live_server.url}/messaging/flows/{flow.pk}/")
    assert page.locator(".flow-branch__heading").all_inner_texts() == [
        "If they opened a message of this flow",
        "Otherwise",
        "Variant A (50%)",
        "Variant B (50%)",
    ]
    assert page.locator(f"#step-{steps['text'].pk} [data-reached]").first.inner_text() == "5"
    # A branch's step sits to the right of its split.
    split_left = page.locator(f"#step-{steps['split'].pk} > .flow-step__box").bounding_box()["x"]
    email_left = page.locator(f"#step-{steps['email'].pk} > .flow-step__box").bounding_box()["x"]
    assert email_left > split_left + 10
    page.screenshot(path=str(SHOTS / f"flow-detail-{width}x{height}.png"), full_page=True)
    fits(page)

    page.goto(f"{live_server.url}/messaging/flows/{flow.pk}/steps/{steps['text'].pk}/")
    page.fill("#id_body", "x" * 140)
    sync_api.expect(page.locator("#preview-count")).to_contain_text("163 characters · 2 parts")
    page.screenshot(path=str(SHOTS / f"flow-step-{width}x{height}.png"), full_page=True)
    fits(page)

    page.goto(f"{live_server.url}/messaging/flows/{flow.pk}/settings/")
    page.screenshot(path=str(SHOTS / f"flow-settings-{width}x{height}.png"), full_page=True)
    fits(page)
    assert problems == []
