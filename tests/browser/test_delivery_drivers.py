"""Drivers and shifts in a real Chromium: a manager's shifts day view at 1280x800 (who works when, with which
vehicle; a shift planned from the form; a driver clocked in), and a driver clocking in on a 390x844 phone from
their own shift card, which shows nobody else's shift. Screenshots go to $BROWSER_SCREENSHOTS (default /tmp)."""

import datetime as dt
import os
from pathlib import Path

import pytest

from delivery.models import DriverShift
from tests.browser.test_web_shell import CHROMIUM, browser, log_in  # noqa: F401 - the browser fixture
from tests.delivery.fleet import local, make_driver, make_shift, make_vehicle
from tests.factories import OrganizationFactory, StoreFactory, UserFactory

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium executable at {CHROMIUM}"),
    pytest.mark.django_db(transaction=True),
]

SHOTS = Path(os.environ.get("BROWSER_SCREENSHOTS", "/tmp"))
DAY = dt.date(2026, 6, 10)


@pytest.fixture
def fleet(shipped_rules, clock):
    organization = OrganizationFactory()
    store = StoreFactory(organization=organization, name="Mission Street")
    clock.move_to(local(store, DAY, 9, 40), tick=True)
    UserFactory(organization=organization, username="maria", roles=["manager"], stores=[store])
    dana = make_driver(store, username="dana", first_name="Dana", last_name="Cruz")
    eli = make_driver(store, username="eli", first_name="Eli", last_name="Ford")
    make_driver(store, username="rosa", first_name="Rosa", last_name="Alvarez")
    prius = make_vehicle(store, plate="8ABC123", capacity=12)
    niro = make_vehicle(store, plate="8KIA222", make="Kia", model="Niro EV", colour="Blue", capacity=10)
    make_vehicle(store, plate="7VAN777", make="Ford", model="Transit", colour="White", capacity=16)
    make_shift(store, dana, prius, DAY, 10, 18)
    make_shift(store, eli, niro, DAY, 12, 20)
    return store


def watch(page, base):
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    return problems


def test_a_manager_plans_and_clocks_in_from_the_day_view(live_server, browser, fleet):  # noqa: F811
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    problems = watch(page, live_server.url)
    log_in(page, live_server.url, "maria")
    page.goto(f"{live_server.url}/delivery/fleet/stores/{fleet.pk}/shifts/?day={DAY}")
    shifts = page.locator(".shift")
    assert shifts.count() == 2
    assert "Dana Cruz" in shifts.nth(0).inner_text() and "10:00 AM – 6:00 PM" in shifts.nth(0).inner_text()
    assert "8KIA222" in shifts.nth(1).inner_text()
    page.select_option("#id_driver", label="Rosa Alvarez")
    page.select_option("#id_vehicle", label="White Ford Transit (7VAN777)")
    page.fill("#id_start", "14:00")
    page.fill("#id_end", "22:00")
    page.get_by_role("button", name="Plan shift").click()
    page.wait_for_load_state("networkidle")
    assert "Shift planned for Rosa Alvarez." in page.locator("body").inner_text()
    assert page.locator(".shift").count() == 3
    # The same vehicle for an overlapping shift: refused on the form, with the reason.
    page.select_option("#id_driver", label="Rosa Alvarez")
    page.select_option("#id_vehicle", label="Silver Toyota Prius (8ABC123)")
    page.fill("#id_start", "08:00")
    page.fill("#id_end", "11:00")
    page.get_by_role("button", name="Plan shift").click()
    page.wait_for_load_state("networkidle")
    assert "is already assigned to Dana Cruz from 10:00 AM to 6:00 PM." in page.locator("body").inner_text()
    page.get_by_role("button", name="Clock Dana in").click()
    page.wait_for_load_state("networkidle")
    assert "Dana Cruz clocked in at 9:4" in page.locator("body").inner_text()
    assert "On shift" in page.locator(".shift").nth(0).inner_text()
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(SHOTS / "delivery-shifts-1280x800.png"), full_page=True)
    # The refused form came back as 400 on purpose (Chromium logs it); nothing else went wrong.
    assert [problem for problem in problems if "status of 400" not in problem] == []
    assert len(problems) == 1
    page.close()


def test_a_driver_clocks_in_on_the_phone(live_server, browser, fleet):  # noqa: F811
    page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    problems = watch(page, live_server.url)
    log_in(page, live_server.url, "dana")
    page.goto(f"{live_server.url}/delivery/")
    card = page.locator("[data-my-shift]")
    assert card.count() == 1
    assert "10:00 AM – 6:00 PM" in card.inner_text() and "8ABC123" in card.inner_text()
    assert "Eli" not in page.locator("main").inner_text()
    button = page.get_by_role("button", name="Clock in")
    box = button.bounding_box()
    assert box["width"] >= 300 and box["height"] >= 44  # a thumb-sized button
    page.screenshot(path=str(SHOTS / "delivery-driver-shift-390x844.png"), full_page=True)
    button.click()
    page.wait_for_load_state("networkidle")
    assert "You clocked in at 9:4" in page.locator("body").inner_text()
    assert page.get_by_role("button", name="Clock out").is_visible()
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(SHOTS / "delivery-driver-clocked-in-390x844.png"), full_page=True)
    shift = DriverShift.objects.get(driver__user__username="dana")
    assert shift.clocked_in_at is not None and shift.clocked_in_by.username == "dana"
    assert problems == []
    page.close()


def test_the_day_view_fits_a_phone(live_server, browser, fleet):  # noqa: F811
    page = browser.new_page(viewport={"width": 390, "height": 844})
    log_in(page, live_server.url, "maria")
    page.goto(f"{live_server.url}/delivery/fleet/stores/{fleet.pk}/shifts/?day={DAY}")
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(SHOTS / "delivery-shifts-390x844.png"), full_page=True)
    page.goto(f"{live_server.url}/delivery/fleet/stores/{fleet.pk}/drivers/")
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(SHOTS / "delivery-drivers-390x844.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.get_by_role("link", name="Dana Cruz").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("#id_licence_number").input_value() == "D1234567"
    page.screenshot(path=str(SHOTS / "delivery-driver-edit-1280x800.png"), full_page=True)
    page.get_by_role("link", name="Vehicles").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("tbody tr").count() == 3
    page.screenshot(path=str(SHOTS / "delivery-vehicles-1280x800.png"), full_page=True)
    page.close()
