"""The drawer screens: registers with their state and the open form, a session's movements and blind close
(the expected figure only for managers before close), the result after closing, the managers' history;
permissions, other stores' sessions 404, bad input writes nothing."""

from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dispensary.models import AuditRecord
from pos.models import DrawerMovement, DrawerSession, Register
from pos.services.drawers import drawer_close
from pos.services.pins import manager_pin_set
from tests.factories import StoreFactory, UserFactory
from tests.pos.factories import register_with_drawer
from tests.pos.sale_helpers import cash, sell

pytestmark = pytest.mark.django_db


@pytest.fixture
def session(register):
    return DrawerSession.objects.get(register=register, status="open")


@pytest.fixture
def pin(manager):
    manager_pin_set(user=manager, pin="4821", actor=manager)
    return "4821"


def login(client, user):
    client.force_login(user)
    return client


def test_registers_with_their_drawer_state(client, store, register, budtender):
    Register.objects.create(store=store, name="Register 2")
    response = login(client, budtender).get("/pos/drawers/")
    assert response.status_code == 200
    registers = response.context["registers"]
    assert [(r.name, r.open_session is not None) for r in registers] == [
        ("Register 1", True),
        ("Register 2", False),
    ]
    content = response.content.decode()
    assert "Open drawer" in content
    assert response.context["open_form"].initial["register"] == registers[1].pk


def test_drawer_pages_need_the_permission(client, store, register, session, organization):
    driver = UserFactory(organization=organization, roles=["driver"], stores=[store])
    login(client, driver)
    assert client.get("/pos/drawers/").status_code == 403
    assert client.get(f"/pos/drawers/{session.pk}/").status_code == 403
    assert client.post(f"/pos/drawers/{session.pk}/close/", {"counted_amount": "1"}).status_code == 403
    assert DrawerSession.objects.get(pk=session.pk).status == "open"
    client.logout()
    assert client.get("/pos/drawers/").status_code == 302


def test_open_a_drawer_then_the_same_register_again_is_refused(client, store, budtender):
    register = Register.objects.create(store=store, name="Register 2")
    client = login(client, budtender)
    response = client.post("/pos/drawers/open/", {"register": register.pk, "opening_amount": "150.00"})
    session = DrawerSession.objects.get(register=register)
    assert response.status_code == 302 and response["Location"] == f"/pos/drawers/{session.pk}/"
    assert session.opening_amount == D("150.00") and session.opened_by == budtender
    response = client.post("/pos/drawers/open/", {"register": register.pk, "opening_amount": "10"})
    assert response.status_code == 200
    assert "already open" in response.content.decode()
    assert DrawerSession.objects.filter(register=register).count() == 1


def test_open_form_bad_input_and_other_stores_register(client, store, organization, budtender):
    far = Register.objects.create(store=StoreFactory(organization=organization), name="Far")
    mine = Register.objects.create(store=store, name="Register 2")
    client = login(client, budtender)
    for data in (
        {"register": far.pk, "opening_amount": "10"},
        {"register": mine.pk, "opening_amount": "-1"},
        {"register": mine.pk, "opening_amount": "ten"},
        {"register": mine.pk, "opening_amount": "1.005"},
    ):
        response = client.post("/pos/drawers/open/", data)
        assert response.status_code == 200
        assert response.context["open_form"].errors
    assert not DrawerSession.objects.exists()


def test_other_stores_sessions_are_404(client, organization, budtender, store):
    far_store = StoreFactory(organization=organization)
    far = register_with_drawer(far_store, budtender, name="Far")
    other = DrawerSession.objects.get(register=far)
    client = login(client, UserFactory(organization=organization, roles=["manager"], stores=[store]))
    assert client.get(f"/pos/drawers/{other.pk}/").status_code == 404
    assert (
        client.post(
            f"/pos/drawers/{other.pk}/movements/", {"kind": "paid_in", "paid_in-amount": "5"}
        ).status_code
        == 404
    )
    assert client.post(f"/pos/drawers/{other.pk}/close/", {"counted_amount": "5"}).status_code == 404
    assert DrawerSession.objects.get(pk=other.pk).status == "open"
    assert not DrawerMovement.objects.exists()


def test_the_close_is_blind_for_budtenders_managers_see_the_expected_figure(
    client, store, register, session, budtender, manager, product, package
):
    sell(store, register, budtender, product, package, tenders=[cash(100)])  # 55.01 cash in: 255.01 expected
    page = login(client, budtender).get(f"/pos/drawers/{session.pk}/")
    content = page.content.decode()
    assert page.context["expected"] is None
    assert 'data-testid="expected"' not in content
    assert "255.01" not in content and "55.01" not in content
    assert "Close drawer" in content and "Blind count" in content

    page = login(client, manager).get(f"/pos/drawers/{session.pk}/")
    assert page.context["expected"].expected == D("255.01")
    assert "$255.01" in page.content.decode()


def test_closing_shows_the_result_with_over_short(
    client, store, register, session, budtender, product, package
):
    sell(store, register, budtender, product, package, tenders=[cash(100)])
    client = login(client, budtender)
    response = client.post(
        f"/pos/drawers/{session.pk}/close/", {"counted_amount": "250.00", "note": "Counted twice"}
    )
    assert response.status_code == 302
    session.refresh_from_db()
    assert (session.status, session.expected_amount, session.over_short, session.note) == (
        "closed",
        D("255.01"),
        D("-5.01"),
        "Counted twice",
    )
    page = client.get(f"/pos/drawers/{session.pk}/")
    content = page.content.decode()
    assert 'data-testid="close-result"' in content
    assert "$5.01 short" in content and "$255.01" in content and "$250.00" in content
    assert "Close drawer" not in content and "Record cash drop" not in content


def test_bad_close_writes_nothing(client, session, budtender):
    client = login(client, budtender)
    for counted in ("", "-3", "abc"):
        response = client.post(f"/pos/drawers/{session.pk}/close/", {"counted_amount": counted})
        assert response.status_code == 200
        assert response.context["close_form"].errors
    assert DrawerSession.objects.get(pk=session.pk).status == "open"
    assert not AuditRecord.objects.filter(action="drawer.closed").exists()


def test_closing_an_already_closed_drawer_says_so(client, session, budtender):
    drawer_close(session=session, counted_amount=D("200"), actor=budtender)
    response = login(client, budtender).post(
        f"/pos/drawers/{session.pk}/close/", {"counted_amount": "1"}, follow=True
    )
    assert response.redirect_chain == [(f"/pos/drawers/{session.pk}/", 302)]
    assert "already closed" in response.content.decode()
    assert DrawerSession.objects.get(pk=session.pk).counted_amount == D("200")


def test_drop_and_paid_in_without_approval(client, session, budtender):
    client = login(client, budtender)
    response = client.post(
        f"/pos/drawers/{session.pk}/movements/", {"kind": "drop", "drop-amount": "80", "drop-reason": ""}
    )
    assert response.status_code == 302
    response = client.post(
        f"/pos/drawers/{session.pk}/movements/",
        {"kind": "paid_in", "paid_in-amount": "20.50", "paid_in-reason": "Change fund"},
    )
    assert response.status_code == 302
    assert [(m.kind, m.amount, m.reason, m.actor) for m in DrawerMovement.objects.order_by("id")] == [
        ("drop", D("80.00"), "Cash drop to the safe", budtender),
        ("paid_in", D("20.50"), "Change fund", budtender),
    ]
    content = client.get(f"/pos/drawers/{session.pk}/").content.decode()
    assert "Change fund" in content and "$80.00" in content


def test_paid_out_needs_a_managers_pin(client, session, budtender, manager, pin):
    client = login(client, budtender)
    url = f"/pos/drawers/{session.pk}/movements/"
    data = {"kind": "paid_out", "paid_out-amount": "15", "paid_out-reason": "Ice for the cooler"}
    page = client.post(url, data)
    assert page.status_code == 200
    assert "The manager types their PIN." in page.content.decode()
    wrong = client.post(url, {**data, "paid_out-manager_pin": "0000"})
    assert "A manager of this store must approve with their PIN." in wrong.content.decode()
    assert wrong.context["open_panel"] == "paid_out"
    assert not DrawerMovement.objects.exists()
    right = client.post(url, {**data, "paid_out-manager_pin": pin})
    assert right.status_code == 302
    movement = DrawerMovement.objects.get()
    assert (movement.kind, movement.amount, movement.approved_by, movement.actor) == (
        "paid_out",
        D("15.00"),
        manager,
        budtender,
    )


def test_a_budtender_cannot_approve_and_unknown_kinds_are_refused(
    client, session, budtender, organization, store
):
    client = login(client, budtender)
    url = f"/pos/drawers/{session.pk}/movements/"
    page = client.post(
        url,
        {
            "kind": "paid_out",
            "paid_out-amount": "15",
            "paid_out-reason": "x",
            "paid_out-manager_pin": "1234",
        },
    )
    assert page.status_code == 200 and page.context["movement_forms"][2]["form"].errors
    assert client.post(url, {"kind": "steal", "steal-amount": "5"}).status_code == 302
    assert not DrawerMovement.objects.exists()


def test_no_approvers_yet_says_how_to_get_one(client, session, budtender):
    content = login(client, budtender).get(f"/pos/drawers/{session.pk}/").content.decode()
    assert "No manager of this store has a PIN yet" in content


def test_history_for_managers_with_over_short_in_constant_queries(
    client, store, budtender, manager, organization, django_assert_max_num_queries
):
    def closed_sessions(count, start):
        for index in range(count):
            register = register_with_drawer(store, budtender, name=f"Register {start + index}")
            session = DrawerSession.objects.get(register=register)
            drawer_close(session=session, counted_amount=D("199") + index, actor=budtender)

    client = login(client, manager)
    closed_sessions(1, 1)
    with CaptureQueriesContext(connection) as one:
        response = client.get("/pos/drawers/history/")
    assert response.status_code == 200
    assert "$1.00 short" in response.content.decode()
    closed_sessions(5, 2)
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get("/pos/drawers/history/")
    rows = list(response.context["page"].object_list)
    assert len(rows) == 6
    assert rows[0].closed_at >= rows[-1].closed_at
    content = response.content.decode()
    assert "Even" in content and "$3.00 over" in content
    # Another store's closed drawers are not listed.
    far = register_with_drawer(StoreFactory(organization=organization), budtender, name="Far")
    drawer_close(session=DrawerSession.objects.get(register=far), counted_amount=D("1"), actor=budtender)
    assert client.get("/pos/drawers/history/").context["page"].paginator.count == 6
    register = Register.objects.get(store=store, name="Register 3")
    filtered = client.get("/pos/drawers/history/", {"register": register.pk})
    assert [s.register_id for s in filtered.context["page"].object_list] == [register.pk]


def test_history_is_for_managers_only(client, budtender):
    assert login(client, budtender).get("/pos/drawers/history/").status_code == 403


def test_nav_shows_drawers_and_sales_to_budtenders(client, budtender, organization, store):
    content = login(client, budtender).get("/pos/drawers/").content.decode()
    assert 'href="/pos/drawers/"' in content and 'href="/pos/sales/"' in content
    assert 'href="/pos/drawers/history/"' not in content and 'href="/pos/pin/"' not in content
    driver = UserFactory(organization=organization, roles=["driver"], stores=[store])
    content = login(client, driver).get("/").content.decode()
    assert 'href="/pos/drawers/"' not in content


def test_opened_at_is_now(client, store, budtender):
    register = Register.objects.create(store=store, name="Register 2")
    before = timezone.now()
    login(client, budtender).post("/pos/drawers/open/", {"register": register.pk, "opening_amount": "0"})
    assert DrawerSession.objects.get(register=register).opened_at >= before
