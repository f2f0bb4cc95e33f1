"""The managers' promotion, coupon and loyalty settings pages: forms that validate and write nothing on bad input,
services with audit records, other organizations' rows 404, budtenders 403, the CSVs, and the lists' query
counts."""

import csv
import datetime as dt
import io
import re
from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dispensary.models import AuditRecord
from pos.models import (
    Coupon,
    CouponRedemption,
    LoyaltyProgram,
    LoyaltyTier,
    PointsMultiplier,
    Promotion,
    Reward,
)
from pos.selectors.promotion_settings import promotion_when
from pos.services.promotions import promotion_create, promotion_update
from tests.factories import OrganizationFactory, StoreFactory, UserFactory
from tests.pos.sale_helpers import sell

pytestmark = pytest.mark.django_db

PROMOTION_POST = {
    "name": "Happy hour",
    "kind": "percent",
    "scope": "line",
    "value": "15",
    "customer_group": "everyone",
    "senior_age": "65",
    "priority": "0",
    "automatic": "True",
    "active": "on",
    "weekdays": ["4", "5"],
    "categories": ["flower", "edible"],
    "start_time": "16:00",
    "end_time": "19:00",
}


@pytest.fixture
def owner(organization, store):
    return UserFactory(organization=organization, roles=["owner"], stores=[store])


@pytest.fixture
def promotion(organization, manager):
    return promotion_create(
        organization=organization,
        actor=manager,
        values={"name": "Ten off", "kind": "percent", "value": D("10"), "weekdays": [], "categories": []},
    )


@pytest.fixture
def other_org():
    organization = OrganizationFactory()
    store = StoreFactory(organization=organization)
    promotion = Promotion.objects.create(organization=organization, name="Theirs", kind="percent", value=5)
    coupon = Coupon.objects.create(organization=organization, code="THEIRS", promotion=promotion)
    return organization, store, promotion, coupon


def login(client, user):
    client.force_login(user)
    return client


# --- Promotions ---------------------------------------------------------------------------------------------


def test_create_a_promotion_through_the_form(client, manager, store, organization):
    second = StoreFactory(organization=organization, name="Second")
    response = login(client, manager).post(
        "/pos/settings/promotions/new/", {**PROMOTION_POST, "stores": [second.pk]}
    )
    assert response.status_code == 302
    promotion = Promotion.objects.get(organization=organization)
    assert (promotion.name, promotion.kind, promotion.value, promotion.weekdays, promotion.categories) == (
        "Happy hour",
        "percent",
        D("15.00"),
        [4, 5],
        ["flower", "edible"],
    )
    assert (promotion.start_time, promotion.end_time) == (dt.time(16), dt.time(19))
    assert list(promotion.stores.all()) == [second]
    record = AuditRecord.objects.get(action="promotion.created")
    assert (record.actor, record.object_id, record.after["stores"]) == (
        manager,
        str(promotion.pk),
        [second.pk],
    )
    assert promotion_when(promotion) == "Fri, Sat, 4 PM–7 PM"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"value": "101"}, "value", "A percentage is between 0 and 100."),
        ({"kind": "bxgy", "value": "50", "buy_quantity": "2"}, "get_quantity", "Buy X get Y needs both"),
        ({"starts_on": "2026-06-10", "ends_on": "2026-06-01"}, "ends_on", "The end date is before the start"),
        ({"weekdays": ["7"]}, "weekdays", "Select a valid choice"),
        ({"categories": ["shoes"]}, "categories", "Select a valid choice"),
        ({"start_time": "16:00", "end_time": "16:00"}, "end_time", "The happy hour ends when it starts"),
        ({"value": "-1"}, "value", "The value cannot be negative."),
    ],
)
def test_bad_promotions_are_form_errors_and_write_nothing(client, manager, changes, field, message):
    response = login(client, manager).post("/pos/settings/promotions/new/", {**PROMOTION_POST, **changes})
    assert response.status_code == 400
    assert any(message in error for error in response.context["form"].errors[field])
    assert not Promotion.objects.exists()
    assert not AuditRecord.objects.filter(action__startswith="promotion.").exists()


def test_another_organizations_store_is_not_a_choice(client, manager, other_org):
    _, their_store, _, _ = other_org
    response = login(client, manager).post(
        "/pos/settings/promotions/new/", {**PROMOTION_POST, "stores": [their_store.pk]}
    )
    assert response.status_code == 400
    assert "stores" in response.context["form"].errors
    assert not Promotion.objects.filter(name="Happy hour").exists()


def test_the_service_refuses_bad_values_too(organization, manager):
    from dispensary.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as caught:
        promotion_create(
            organization=organization,
            actor=manager,
            values={"name": "Bad", "kind": "bxgy", "value": D("50"), "buy_quantity": 2, "weekdays": [9]},
        )
    assert caught.value.details == {
        "get_quantity": ["Buy X get Y needs both quantities (at least 1)."],
        "weekdays": ["Weekdays are 0 (Monday) to 6 (Sunday)."],
    }
    assert not Promotion.objects.exists()


def test_edit_and_deactivate_a_promotion(client, manager, promotion):
    login(client, manager)
    page = client.get(f"/pos/settings/promotions/{promotion.pk}/")
    assert page.status_code == 200
    response = client.post(
        f"/pos/settings/promotions/{promotion.pk}/", {**PROMOTION_POST, "name": "Twenty off", "value": "20"}
    )
    assert response.status_code == 302
    promotion.refresh_from_db()
    assert (promotion.name, promotion.value) == ("Twenty off", D("20.00"))
    updated = AuditRecord.objects.get(action="promotion.updated")
    assert (updated.before["name"], updated.after["name"]) == ("Ten off", "Twenty off")
    assert client.post(f"/pos/settings/promotions/{promotion.pk}/deactivate/").status_code == 302
    promotion.refresh_from_db()
    assert promotion.active is False


def test_promotion_list_says_when_and_filters_by_status(client, manager, organization, promotion, store):
    promotion_update(
        promotion=promotion,
        actor=manager,
        values={
            "weekdays": [0, 1, 2, 3, 4],
            "starts_on": dt.date(2026, 6, 1),
            "ends_on": dt.date(2026, 6, 30),
        },
        stores=[store],
    )
    Promotion.objects.create(organization=organization, name="Old", kind="amount", value=5, active=False)
    response = login(client, manager).get("/pos/settings/promotions/")
    assert [p.name for p in response.context["page"].object_list] == ["Ten off"]
    assert response.context["page"].object_list[0].when == "Weekdays, Jun 1, 2026 to Jun 30, 2026"
    assert store.name in response.content.decode()
    inactive = client.get("/pos/settings/promotions/?status=inactive")
    assert [p.name for p in inactive.context["page"].object_list] == ["Old"]


def test_promotion_list_query_count_does_not_grow(client, manager, organization, store):
    login(client, manager)

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/pos/settings/promotions/").status_code == 200
        return len(queries)

    Promotion.objects.create(organization=organization, name="A", kind="percent", value=5).stores.add(store)
    few = count()
    for index in range(6):
        promotion = Promotion.objects.create(
            organization=organization, name=f"P{index}", kind="percent", value=5
        )
        promotion.stores.add(store)
        Coupon.objects.create(organization=organization, code=f"C{index}", promotion=promotion)
    assert count() == few


# --- Tenancy and permissions --------------------------------------------------------------------------------


def test_other_organizations_rows_are_404(client, manager, other_org):
    organization, _, promotion, coupon = other_org
    tier = LoyaltyTier.objects.create(organization=organization, name="Gold", min_spend=100)
    reward = Reward.objects.create(organization=organization, name="Five", points_cost=100, value=5)
    multiplier = PointsMultiplier.objects.create(organization=organization, name="Double", multiplier=2)
    login(client, manager)
    assert client.get(f"/pos/settings/promotions/{promotion.pk}/").status_code == 404
    assert client.post(f"/pos/settings/promotions/{promotion.pk}/deactivate/").status_code == 404
    assert client.post(f"/pos/settings/coupons/{coupon.pk}/deactivate/").status_code == 404
    assert client.get(f"/pos/settings/loyalty/tiers/{tier.pk}/").status_code == 404
    assert client.get(f"/pos/settings/loyalty/rewards/{reward.pk}/").status_code == 404
    assert client.get(f"/pos/settings/loyalty/multipliers/{multiplier.pk}/").status_code == 404
    response = client.post("/pos/settings/coupons/new/", {"code": "MINE", "promotion": promotion.pk})
    assert response.status_code == 400
    assert "promotion" in response.context["coupon_form"].errors
    promotion.refresh_from_db()
    coupon.refresh_from_db()
    assert promotion.active and coupon.active
    assert not Coupon.objects.filter(code="MINE").exists()
    listed = client.get("/pos/settings/coupons/")
    assert "THEIRS" not in listed.content.decode()


URLS = [
    "/pos/settings/promotions/",
    "/pos/settings/promotions/new/",
    "/pos/settings/coupons/",
    "/pos/settings/coupons/results/",
    "/pos/settings/loyalty/",
    "/pos/settings/loyalty/tiers/",
    "/pos/settings/loyalty/multipliers/",
    "/pos/settings/loyalty/rewards/",
]


def test_budtenders_are_refused(client, budtender, promotion):
    login(client, budtender)
    for url in URLS:
        assert client.get(url).status_code == 403, url
    assert client.post(f"/pos/settings/promotions/{promotion.pk}/deactivate/").status_code == 403
    assert (
        client.post("/pos/settings/coupons/new/", {"code": "X", "promotion": promotion.pk}).status_code == 403
    )
    assert client.post("/pos/settings/loyalty/", {"tier_window_days": "30"}).status_code == 403
    promotion.refresh_from_db()
    assert promotion.active
    assert not Coupon.objects.exists() and not LoyaltyProgram.objects.exists()


def test_managers_and_owners_see_the_pages_and_the_nav(client, manager, owner, budtender):
    for user in (manager, owner):
        login(client, user)
        for url in URLS:
            assert client.get(url).status_code == 200, (user, url)
        assert nav_labels(client.get("/pos/sales/")).count("Promotions") == 1
    login(client, budtender)
    assert "Promotions" not in nav_labels(client.get("/pos/sales/"))


def nav_labels(response) -> list[str]:
    from django.template import Context, Template

    template = Template(
        "{% load ui %}{% nav_items as items %}{% for item in items %}{{ item.label }}|{% endfor %}"
    )
    return template.render(Context({"request": response.wsgi_request})).split("|")


# --- Coupons ------------------------------------------------------------------------------------------------


def test_create_a_code_upper_case_and_a_duplicate_is_a_form_error(client, manager, promotion, organization):
    login(client, manager)
    response = client.post(
        "/pos/settings/coupons/new/",
        {"code": " spring5 ", "promotion": promotion.pk, "max_uses": "100", "message_id": "msg-42"},
    )
    assert response.status_code == 302
    coupon = Coupon.objects.get(organization=organization)
    assert (coupon.code, coupon.max_uses, coupon.message_id) == ("SPRING5", 100, "msg-42")
    assert AuditRecord.objects.filter(action="coupon.created", object_id=str(coupon.pk)).count() == 1
    again = client.post("/pos/settings/coupons/new/", {"code": "Spring5", "promotion": promotion.pk})
    assert again.status_code == 400
    assert again.context["coupon_form"].errors["code"] == ["The code SPRING5 already exists."]
    assert Coupon.objects.count() == 1


def test_a_code_of_another_organization_may_repeat(client, manager, promotion, other_org):
    response = login(client, manager).post(
        "/pos/settings/coupons/new/", {"code": "theirs", "promotion": promotion.pk}
    )
    assert response.status_code == 302
    assert Coupon.objects.filter(code="THEIRS").count() == 2


def test_bad_codes_write_nothing(client, manager, promotion):
    login(client, manager)
    for data in (
        {"code": "NO SPACES", "promotion": promotion.pk},
        {"code": "=CMD", "promotion": promotion.pk},
        {
            "code": "OK1",
            "promotion": promotion.pk,
            "valid_from": "2026-06-02T10:00",
            "valid_until": "2026-06-01T10:00",
        },
        {"code": "OK2", "promotion": promotion.pk, "max_uses": "0"},
    ):
        assert client.post("/pos/settings/coupons/new/", data).status_code == 400
    assert not Coupon.objects.exists()


def test_generate_codes_and_download_them(client, manager, promotion, organization):
    login(client, manager)
    response = client.post(
        "/pos/settings/coupons/generate/", {"promotion": promotion.pk, "count": "3", "prefix": "mail"}
    )
    assert response.status_code == 302
    codes = sorted(Coupon.objects.filter(organization=organization).values_list("code", flat=True))
    assert len(codes) == 3 and all(code.startswith("MAIL") and len(code) == 12 for code in codes)
    page = client.get("/pos/settings/coupons/generated/")
    assert [c.code for c in page.context["coupons"]] == codes
    download = client.get("/pos/settings/coupons/generated.csv")
    assert download["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(download.content.decode())))
    assert rows == [["code", "promotion", "max_uses"], *[[code, "Ten off", "1"] for code in codes]]


def test_generated_csv_is_formula_safe(client, manager, organization):
    promotion = Promotion.objects.create(
        organization=organization, name="=HYPERLINK(1)", kind="percent", value=5
    )
    login(client, manager)
    client.post("/pos/settings/coupons/generate/", {"promotion": promotion.pk, "count": "1"})
    rows = list(csv.reader(io.StringIO(client.get("/pos/settings/coupons/generated.csv").content.decode())))
    assert rows[1][1] == "'=HYPERLINK(1)"


def test_generate_bad_count_writes_nothing(client, manager, promotion):
    login(client, manager)
    assert (
        client.post("/pos/settings/coupons/generate/", {"promotion": promotion.pk, "count": "0"}).status_code
        == 400
    )
    assert (
        client.post(
            "/pos/settings/coupons/generate/", {"promotion": promotion.pk, "count": "2", "prefix": "a-b"}
        ).status_code
        == 400
    )
    assert not Coupon.objects.exists()
    assert client.get("/pos/settings/coupons/generated.csv").status_code == 404


def test_deactivate_a_code(client, manager, promotion, organization):
    coupon = Coupon.objects.create(organization=organization, code="GONE", promotion=promotion)
    assert login(client, manager).post(f"/pos/settings/coupons/{coupon.pk}/deactivate/").status_code == 302
    coupon.refresh_from_db()
    assert coupon.active is False
    assert AuditRecord.objects.filter(action="coupon.deactivated", object_id=str(coupon.pk)).count() == 1


def test_coupon_list_shows_uses_and_redemptions_in_fixed_queries(
    client, manager, organization, promotion, store, register, product, package, budtender
):
    coupon = Coupon.objects.create(
        organization=organization, code="SAVE", promotion=promotion, max_uses=10, uses=2, message_id="m-1"
    )
    sale = sell(store, register, budtender, product, package)
    CouponRedemption.objects.create(coupon=coupon, sale=sale, amount=D("4.50"), redeemed_at=timezone.now())
    login(client, manager)

    def count():
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/pos/settings/coupons/")
        return response, len(queries)

    response, few = count()
    row = response.context["page"].object_list[0]
    assert (row.code, row.uses, row.max_uses, row.redemption_count, row.message_id) == (
        "SAVE",
        2,
        10,
        1,
        "m-1",
    )
    assert "2 / 10" in response.content.decode()
    for index in range(5):
        Coupon.objects.create(organization=organization, code=f"X{index}", promotion=promotion)
    assert count()[1] == few


# --- Coupon results -----------------------------------------------------------------------------------------


def test_results_by_code_and_message_with_csv(
    client, manager, organization, promotion, store, register, product, package, budtender
):
    spring = Coupon.objects.create(
        organization=organization, code="SPRING", promotion=promotion, message_id="m-1"
    )
    summer = Coupon.objects.create(
        organization=organization, code="SUMMER", promotion=promotion, message_id="m-1"
    )
    walk_in = Coupon.objects.create(organization=organization, code="WALKIN", promotion=promotion)
    sales = [sell(store, register, budtender, product, package) for _ in range(4)]
    now = timezone.now()
    early, late = now - dt.timedelta(days=2), now - dt.timedelta(hours=1)
    CouponRedemption.objects.create(
        coupon=spring, sale=sales[0], amount=D("4.50"), message_id="m-1", redeemed_at=early
    )
    # One sale with two codes of the same message: its total counts once for the message.
    CouponRedemption.objects.create(
        coupon=spring, sale=sales[1], amount=D("4.50"), message_id="m-1", redeemed_at=late
    )
    CouponRedemption.objects.create(
        coupon=summer, sale=sales[1], amount=D("2.00"), message_id="m-1", redeemed_at=late
    )
    CouponRedemption.objects.create(coupon=walk_in, sale=sales[2], amount=D("1.00"), redeemed_at=late)
    # Voided, and out of range: left out.
    CouponRedemption.objects.create(
        coupon=walk_in, sale=sales[3], amount=D("9.00"), redeemed_at=late, reversed_at=now
    )
    CouponRedemption.objects.create(
        coupon=summer,
        sale=sales[3],
        amount=D("9.00"),
        message_id="m-1",
        redeemed_at=now - dt.timedelta(days=90),
    )
    totals = [sale.total for sale in sales]
    login(client, manager)
    start, end = (timezone.localdate() - dt.timedelta(days=7)).isoformat(), timezone.localdate().isoformat()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/pos/settings/coupons/results/?start={start}&end={end}")
    assert response.status_code == 200
    results = response.context["results"]
    assert [
        (r.key, r.redemptions, r.discount, r.sales_total, r.first_used, r.last_used)
        for r in results.by_coupon
    ] == [
        ("SPRING", 2, D("9.00"), totals[0] + totals[1], early, late),
        ("SUMMER", 1, D("2.00"), totals[1], late, late),
        ("WALKIN", 1, D("1.00"), totals[2], late, late),
    ]
    assert [(r.key, r.redemptions, r.discount, r.sales_total) for r in results.by_message] == [
        ("m-1", 3, D("11.00"), totals[0] + totals[1]),
        ("", 1, D("1.00"), totals[2]),
    ]
    assert len(queries) < 15
    download = client.get(f"/pos/settings/coupons/results/?start={start}&end={end}&format=csv&by=message")
    rows = list(csv.reader(io.StringIO(download.content.decode())))
    assert rows[0] == ["message_id", "redemptions", "discount", "sales_total", "first_used", "last_used"]
    assert rows[1][:4] == ["m-1", "3", "11.00", str(totals[0] + totals[1])]
    by_code = client.get(f"/pos/settings/coupons/results/?start={start}&end={end}&format=csv&by=coupon")
    assert [row[0] for row in csv.reader(io.StringIO(by_code.content.decode()))] == [
        "code",
        "SPRING",
        "SUMMER",
        "WALKIN",
    ]


def test_results_of_another_organization_are_not_counted(
    client, manager, other_org, store, register, product, package, budtender
):
    _, _, _, their_coupon = other_org
    sale = sell(store, register, budtender, product, package)
    CouponRedemption.objects.create(
        coupon=their_coupon, sale=sale, amount=D("1.00"), redeemed_at=timezone.now()
    )
    response = login(client, manager).get("/pos/settings/coupons/results/")
    assert response.context["results"].by_coupon == []


def test_results_with_a_bad_range_are_a_form_error(client, manager):
    response = login(client, manager).get("/pos/settings/coupons/results/?start=2026-06-10&end=2026-06-01")
    assert response.status_code == 400
    assert response.context["form"].errors["end"] == ["The end date is before the start date."]
    assert response.context["results"] is None


# --- Loyalty ------------------------------------------------------------------------------------------------


def test_the_program_is_created_then_changed(client, manager, organization):
    login(client, manager)
    assert client.get("/pos/settings/loyalty/").context["program"] is None
    data = {
        "enabled": "on",
        "points_per_currency_unit": "2",
        "points_expire_after_days": "365",
        "tier_window_days": "180",
    }
    assert client.post("/pos/settings/loyalty/", data).status_code == 302
    program = LoyaltyProgram.objects.get(organization=organization)
    assert (
        program.enabled,
        program.points_per_currency_unit,
        program.points_expire_after_days,
        program.tier_window_days,
    ) == (
        True,
        D("2.000"),
        365,
        180,
    )
    assert (
        client.post("/pos/settings/loyalty/", {**data, "enabled": "", "tier_window_days": "0"}).status_code
        == 400
    )
    program.refresh_from_db()
    assert (program.enabled, program.tier_window_days) == (True, 180)
    assert client.post("/pos/settings/loyalty/", {**data, "enabled": ""}).status_code == 302
    program.refresh_from_db()
    assert program.enabled is False
    assert list(
        AuditRecord.objects.filter(action="loyalty_program.saved")
        .order_by("pk")
        .values_list("after__enabled", flat=True)
    ) == [
        True,
        False,
    ]


def test_tiers_with_unique_names_and_thresholds_as_form_errors(client, manager, organization):
    login(client, manager)
    assert (
        client.post(
            "/pos/settings/loyalty/tiers/", {"name": "Gold", "min_spend": "500", "earn_multiplier": "1.5"}
        ).status_code
        == 302
    )
    same_name = client.post(
        "/pos/settings/loyalty/tiers/", {"name": "Gold", "min_spend": "900", "earn_multiplier": "2"}
    )
    assert same_name.status_code == 400
    assert same_name.context["form"].errors["name"] == ["Another tier already has this name."]
    same_spend = client.post(
        "/pos/settings/loyalty/tiers/", {"name": "Platinum", "min_spend": "500", "earn_multiplier": "2"}
    )
    assert same_spend.context["form"].errors["min_spend"] == ["Another tier already starts at this spend."]
    assert list(LoyaltyTier.objects.values_list("name", "min_spend")) == [("Gold", D("500.00"))]
    gold = LoyaltyTier.objects.get()
    silver = LoyaltyTier.objects.create(organization=organization, name="Silver", min_spend=100)
    clash = client.post(
        f"/pos/settings/loyalty/tiers/{silver.pk}/",
        {"name": "Gold", "min_spend": "100", "earn_multiplier": "1"},
    )
    assert clash.status_code == 400
    assert clash.context["form"].errors["name"] == ["Another tier already has this name."]
    edited = client.post(
        f"/pos/settings/loyalty/tiers/{gold.pk}/",
        {"name": "Gold", "min_spend": "600", "earn_multiplier": "1.5"},
    )
    assert edited.status_code == 302
    gold.refresh_from_db()
    assert gold.min_spend == D("600.00")
    assert AuditRecord.objects.filter(action="loyaltytier.updated", object_id=str(gold.pk)).count() == 1


def test_multipliers_and_rewards(client, manager, organization):
    login(client, manager)
    response = client.post(
        "/pos/settings/loyalty/multipliers/",
        {
            "name": "Double edibles",
            "multiplier": "2",
            "categories": ["edible"],
            "weekdays": ["2"],
            "active": "on",
        },
    )
    assert response.status_code == 302
    multiplier = PointsMultiplier.objects.get()
    assert (multiplier.categories, multiplier.weekdays, multiplier.multiplier) == (["edible"], [2], D("2.00"))
    listed = client.get("/pos/settings/loyalty/multipliers/")
    assert listed.context["rows"][0].when == "Wed"
    bad = client.post(
        "/pos/settings/loyalty/multipliers/",
        {"name": "Bad", "multiplier": "2", "starts_on": "2026-06-10", "ends_on": "2026-06-01"},
    )
    assert bad.status_code == 400
    assert (
        client.post(
            "/pos/settings/loyalty/rewards/",
            {"name": "Half", "points_cost": "100", "kind": "percent", "value": "150"},
        ).status_code
        == 400
    )
    assert (
        client.post(
            "/pos/settings/loyalty/rewards/",
            {"name": "Free", "points_cost": "0", "kind": "amount", "value": "5"},
        ).status_code
        == 400
    )
    assert not Reward.objects.exists()
    created = client.post(
        "/pos/settings/loyalty/rewards/",
        {
            "name": "Five off",
            "points_cost": "250",
            "kind": "amount",
            "value": "5",
            "categories": ["flower"],
            "active": "on",
        },
    )
    assert created.status_code == 302
    reward = Reward.objects.get()
    assert (reward.points_cost, reward.kind, reward.value, reward.categories, reward.active) == (
        250,
        "amount",
        D("5.00"),
        ["flower"],
        True,
    )
    client.post(
        f"/pos/settings/loyalty/rewards/{reward.pk}/",
        {"name": "Five off", "points_cost": "250", "kind": "amount", "value": "5"},
    )
    reward.refresh_from_db()
    assert reward.active is False
    assert PointsMultiplier.objects.count() == 1


def test_loyalty_lists_query_count(client, manager, organization):
    login(client, manager)

    def count(url):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    urls = [
        "/pos/settings/loyalty/tiers/",
        "/pos/settings/loyalty/multipliers/",
        "/pos/settings/loyalty/rewards/",
    ]
    before = [count(url) for url in urls]
    for index in range(4):
        LoyaltyTier.objects.create(organization=organization, name=f"T{index}", min_spend=index * 100)
        PointsMultiplier.objects.create(organization=organization, name=f"M{index}", multiplier=2)
        Reward.objects.create(organization=organization, name=f"R{index}", points_cost=100 + index, value=5)
    assert [count(url) for url in urls] == before


def test_a_new_promotion_is_chosen_at_the_counter_unless_the_manager_says_automatic(
    client, manager, organization
):
    page = login(client, manager).get("/pos/settings/promotions/new/")
    html = page.content.decode()
    assert re.search(r'value="False"[^>]*checked', html) and not re.search(r'value="True"[^>]*checked', html)
    assert "Chosen at the counter, or by a coupon code" in html

    unsaid = {key: value for key, value in PROMOTION_POST.items() if key != "automatic"}
    response = client.post("/pos/settings/promotions/new/", unsaid)
    assert response.status_code == 400
    assert response.context["form"].errors["automatic"] == ["This field is required."]
    assert not Promotion.objects.filter(organization=organization).exists()

    response = client.post("/pos/settings/promotions/new/", {**PROMOTION_POST, "automatic": "False"})
    assert response.status_code == 302
    assert Promotion.objects.get(organization=organization).automatic is False


def test_a_promotion_made_without_saying_is_not_automatic(promotion):
    assert promotion.automatic is False


def test_editing_an_automatic_promotion_shows_it_as_automatic(client, manager, promotion):
    promotion.automatic = True
    promotion.save(update_fields=["automatic"])
    html = login(client, manager).get(f"/pos/settings/promotions/{promotion.pk}/").content.decode()
    assert re.search(r'value="True"[^>]*checked', html)
