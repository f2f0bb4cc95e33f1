"""The top bar: each role sees the links its pages let in (reports and the audit center included), grouped
in menus when there are many, and the link that owns the page is the active one."""

import re

import pytest

from dispensary.navigation import FLAT_LIMIT, nav_links_for, nav_menu


def labels(user, path="/"):
    return [link["label"] for link in nav_links_for(user, path)]


def active(user, path):
    return [link["label"] for link in nav_links_for(user, path) if link["active"]]


def test_managers_see_reports_and_the_audit_center(staff):
    manager = staff("manager")
    assert labels(manager) == [
        "Dashboard",
        "Register",
        "Queue",
        "Pickups",
        "Sales",
        "Drawers",
        "Customers",
        "Inventory",
        "Delivery",
        "Dispatch",
        "Delivery analytics",
        "Reports",
        "Audit center",
        "State sync",
        "Looping alerts",
        "Inbox",
        "Messages",
        "Deliverability",
        "Templates",
        "Send queue",
        "Senders",
        "Promotions",
        "Segments",
        "Event outbox",
        "Flows",
        "Delivery zones",
        "Campaigns",
        "Drivers and shifts",
        "Results",
        "Klaviyo",
        "Alpine IQ and Springbig",
    ]


def test_a_budtender_sees_the_counter_links_on_the_bar_itself(staff):
    budtender = staff("budtender")
    links = nav_links_for(budtender, "/pos/register/")
    assert [link["label"] for link in links] == [
        "Register",
        "Queue",
        "Pickups",
        "Sales",
        "Drawers",
        "Customers",
        "Inventory",
        "Inbox",
    ]
    assert len(links) <= FLAT_LIMIT
    assert all(entry["links"] is None for entry in nav_menu(links))


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/dashboard/", "Dashboard"),
        ("/pos/", "Register"),
        ("/pos/register/carts/5/", "Register"),
        ("/pos/queue/", "Queue"),
        ("/pos/sales/12/receipt/", "Sales"),
        ("/pos/pin/", "Drawers"),
        ("/pos/settings/coupons/", "Promotions"),
        ("/pos/settings/loyalty/", "Promotions"),
        ("/pos/customers/3/profile/", "Customers"),
        ("/compliance/patients/3/", "Customers"),
        ("/compliance/reports/", "Reports"),
        ("/compliance/reports/waste/", "Reports"),
        ("/compliance/audit/", "Audit center"),
        ("/compliance/audit/day/2026-11-22/", "Audit center"),
        ("/compliance/sync/4/", "State sync"),
        ("/compliance/alerts/", "Looping alerts"),
        ("/inventory/transfers/", "Inventory"),
        ("/outbox/dead-letters/", "Event outbox"),
        ("/delivery/stores/1/zones/", "Delivery zones"),
        ("/delivery/stores/1/zones/4/", "Delivery zones"),
        ("/delivery/fleet/stores/1/shifts/", "Drivers and shifts"),
        ("/delivery/fleet/stores/1/drivers/3/", "Drivers and shifts"),
        ("/delivery/", "Delivery"),
        ("/delivery/analytics/", "Delivery analytics"),
        ("/messaging/templates/3/", "Templates"),
        ("/messaging/deliverability/", "Deliverability"),
        ("/messaging/messages/", "Messages"),
        ("/messaging/messages/12/", "Messages"),
        ("/messaging/queue/", "Send queue"),
        ("/messaging/senders/4/", "Senders"),
        ("/messaging/integrations/loyalty/", "Alpine IQ and Springbig"),
    ],
)
def test_the_link_owning_the_page_is_the_one_active(staff, path, expected):
    assert active(staff("owner"), path) == [expected]


def test_no_link_is_active_on_a_page_no_link_owns(staff):
    assert active(staff("owner"), "/stores/switch/") == []


def test_many_links_are_grouped_and_the_menu_of_the_page_is_active(staff):
    links = nav_links_for(staff("owner"), "/compliance/audit/")
    entries = nav_menu(links)
    assert [entry["label"] for entry in entries] == [
        "Dashboard",
        "Counter",
        "Customers",
        "Inventory",
        "Delivery",
        "Compliance",
        "Messaging",
        "Settings",
    ]
    compliance = next(entry for entry in entries if entry["label"] == "Compliance")
    assert compliance["active"]
    assert [(link["label"], link["active"]) for link in compliance["links"]] == [
        ("Reports", False),
        ("Audit center", True),
        ("State sync", False),
        ("Looping alerts", False),
    ]


def test_the_top_bar_renders_the_menus_with_the_current_page(client, login, staff):
    login(staff("manager"))
    html = client.get("/compliance/reports/").content.decode()
    assert re.search(r'<summary class="nav__link nav__summary is-active">Compliance', html)
    assert 'href="/compliance/reports/" aria-current="page">Reports</a>' in html
    assert 'href="/compliance/audit/">Audit center</a>' in html
