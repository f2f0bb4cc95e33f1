"""The customer's loyalty page: the link by text (the same answer for known and unknown numbers, throttled), the
PIN (right, wrong, expired, locked), the page's content, consent changes in the ledger, tokens that are not this
customer's, expired or revoked, and the audit record of each read."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.test import Client

from dispensary.models import AuditRecord, Customer, MarketingConsent
from messaging.loyalty_page import loyalty_link_revoke, loyalty_link_send, loyalty_link_token
from messaging.models import LoyaltyPageLink, OutboundMessage
from messaging.views_loyalty_page import SENT_WORDS, SESSION_COOKIE
from pos.models import LoyaltyAccount, LoyaltyProgram, LoyaltyTier, PointsEntry
from tests.factories import CustomerFactory, OrganizationFactory

pytestmark = pytest.mark.django_db
START = dt.datetime(2027, 4, 12, 17, 0, tzinfo=dt.UTC)


def _texts(customer, purpose):
    return list(
        OutboundMessage.objects.filter(customer=customer, purpose=purpose)
        .order_by("pk")
        .values_list("body", flat=True)
    )


def _token_of(body: str) -> str:
    return re.search(r"/my/([^/\s]+)/", body).group(1)


def _pin_of(customer) -> str:
    return re.search(r"is (\d{6})\.", _texts(customer, "loyalty_pin")[-1]).group(1)


@pytest.fixture
def opened(client, ada, clock):
    """Ada's link, her PIN asked for and typed: the client holds her page's session."""
    clock.move_to(START)
    link = loyalty_link_send(customer=ada)
    token = loyalty_link_token(link)
    assert client.post(f"/my/{token}/code/").status_code == 302
    response = client.post(f"/my/{token}/code/check/", {"code": _pin_of(ada)})
    assert response.status_code == 302 and response["Location"] == f"/my/{token}/"
    return link, token


# --- Asking for the link -----------------------------------------------------------------------------------


def test_known_and_unknown_numbers_get_the_same_answer(client, ada):
    known = client.post("/my/", {"phone": "(415) 555-0134"})
    unknown = client.post("/my/", {"phone": "(415) 555-0199"})
    assert known.status_code == unknown.status_code == 200
    assert known.content == unknown.content
    assert SENT_WORDS in known.content.decode()
    assert known["X-Robots-Tag"] == "noindex, nofollow, noarchive"
    (body,) = _texts(ada, "loyalty_link")
    assert body.startswith(
        "Green Leaf: your loyalty page (points, rewards, coupons and your message choices): "
    )
    assert f"https://shop.example/my/{_token_of(body)}/ ." in body
    message = OutboundMessage.objects.get(purpose="loyalty_link")
    assert (message.to, message.category, message.channel) == ("+14155550134", "transactional", "sms")
    assert OutboundMessage.objects.count() == 1


def test_not_a_number_is_said_and_nothing_is_sent(client, ada):
    response = client.post("/my/", {"phone": ""})
    assert response.status_code == 400
    assert "Type your mobile number." in response.content.decode()
    assert OutboundMessage.objects.count() == 0
    assert client.post("/my/", {"phone": "hello"}).content.decode().count(SENT_WORDS) == 1
    assert OutboundMessage.objects.count() == 0


def test_requests_are_throttled_by_address_and_by_number(client, ada, settings):
    settings.LOYALTY_PAGE_REQUESTS_PER_HOUR = 2
    for _ in range(2):
        assert client.post("/my/", {"phone": "4155550134"}).status_code == 200
    refused = client.post("/my/", {"phone": "4155550134"})
    assert refused.status_code == 429 and refused["Retry-After"] == "3600"
    assert "Too many requests from here" in refused.content.decode()
    # From another address, the same number: the same answer, and no third text.
    other = Client(REMOTE_ADDR="10.0.0.9")
    answer = other.post("/my/", {"phone": "+1 415 555 0134"})
    assert answer.status_code == 200 and SENT_WORDS in answer.content.decode()
    assert len(_texts(ada, "loyalty_link")) == 2


def test_a_customer_gets_at_most_three_links_an_hour_at_their_request(ada, settings):
    from messaging.loyalty_page import loyalty_link_request

    assert [loyalty_link_request(phone="4155550134") for _ in range(4)] == [1, 1, 1, 0]
    assert LoyaltyPageLink.objects.filter(customer=ada).count() == 3


def test_the_form_is_csrf_protected(ada):
    client = Client(enforce_csrf_checks=True)
    assert client.post("/my/", {"phone": "4155550134"}).status_code == 403
    assert OutboundMessage.objects.count() == 0


# --- The PIN -----------------------------------------------------------------------------------------------


def test_the_link_asks_for_a_code_texted_on_request(client, ada, clock):
    clock.move_to(START)
    token = loyalty_link_token(loyalty_link_send(customer=ada))
    first = client.get(f"/my/{token}/")
    assert first.status_code == 200
    assert "ending in 0134" in first.content.decode() and "Text me a code" in first.content.decode()
    assert _texts(ada, "loyalty_pin") == []  # a link preview opening the page sends nothing
    client.post(f"/my/{token}/code/")
    (body,) = _texts(ada, "loyalty_pin")
    assert re.fullmatch(
        r"Green Leaf: your code for your loyalty page is \d{6}\. It works for 10 minutes\. "
        r"We never ask for it by phone\.",
        body,
    )
    assert "Open my page" in client.get(f"/my/{token}/").content.decode()
    assert not AuditRecord.objects.filter(action="customer.viewed").exists()


def test_the_right_code_opens_the_page_with_its_own_cookie(client, ada, opened):
    link, token = opened
    cookie = client.cookies[SESSION_COOKIE]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["path"] == "/my/"
    assert cookie["max-age"] == 1800
    assert "sessionid" not in client.cookies  # no staff session
    page = client.get(f"/my/{token}/")
    assert page.status_code == 200 and "Hi Ada" in page.content.decode()
    # The code is used: typing it again opens nothing more.
    assert client.post(f"/my/{token}/code/check/", {"code": _pin_of(ada)}).status_code == 400


def test_a_wrong_code_says_how_many_tries_are_left(client, ada, clock):
    clock.move_to(START)
    token = loyalty_link_token(loyalty_link_send(customer=ada))
    client.post(f"/my/{token}/code/")
    wrong = "000000" if _pin_of(ada) != "000000" else "111111"
    response = client.post(f"/my/{token}/code/check/", {"code": wrong})
    assert response.status_code == 400
    assert "That code is not right. Tries left: 4." in response.content.decode()
    assert SESSION_COOKIE not in client.cookies


def test_an_expired_code_does_not_open(client, ada, clock):
    clock.move_to(START)
    token = loyalty_link_token(loyalty_link_send(customer=ada))
    client.post(f"/my/{token}/code/")
    clock.move_to(START + dt.timedelta(minutes=10, seconds=1))
    response = client.post(f"/my/{token}/code/check/", {"code": _pin_of(ada)})
    assert response.status_code == 400
    assert "That code has expired. Ask for a new one." in response.content.decode()


def test_five_wrong_codes_lock_the_link(client, ada, clock):
    clock.move_to(START)
    link = loyalty_link_send(customer=ada)
    token = loyalty_link_token(link)
    client.post(f"/my/{token}/code/")
    right = _pin_of(ada)
    wrong = "000000" if right != "000000" else "111111"
    statuses = [client.post(f"/my/{token}/code/check/", {"code": wrong}).status_code for _ in range(5)]
    assert statuses == [400, 400, 400, 400, 403]
    link.refresh_from_db()
    assert (link.revoked_at, link.revoked_reason) == (START, "too many wrong codes")
    assert client.post(f"/my/{token}/code/check/", {"code": right}).status_code == 404
    assert client.post(f"/my/{token}/code/").status_code == 404


def test_codes_asked_for_too_often_are_refused(client, ada, clock):
    clock.move_to(START)
    token = loyalty_link_token(loyalty_link_send(customer=ada))
    statuses = [client.post(f"/my/{token}/code/").status_code for _ in range(6)]
    assert statuses == [302, 302, 302, 302, 302, 429]
    assert len(_texts(ada, "loyalty_pin")) == 5


# --- The page ----------------------------------------------------------------------------------------------


def test_the_page_shows_points_tier_rewards_coupons_history_and_choices(
    client, ada, shop, opened, register, budtender
):
    from messaging.selectors_loyalty_page import (
        ChannelChoice,
        CouponLine,
        HistoryLine,
        RewardLine,
        TierProgress,
        loyalty_page_get,
    )
    from pos.models import Promotion, Reward
    from pos.services.coupons import coupon_issue_personal
    from tests.messaging.recommendation_helpers import sell, stocked

    organization = shop.organization
    LoyaltyProgram.objects.create(organization=organization, tier_window_days=365)
    LoyaltyTier.objects.create(organization=organization, name="Silver", min_spend=Decimal("100.00"))
    LoyaltyTier.objects.create(organization=organization, name="Gold", min_spend=Decimal("500.00"))
    account = LoyaltyAccount.objects.create(customer=ada, balance=120)
    PointsEntry.objects.create(
        account=account, kind="earned", points=150, created_at=START - dt.timedelta(days=9)
    )
    PointsEntry.objects.create(
        account=account, kind="redeemed", points=-30, created_at=START - dt.timedelta(days=2)
    )
    for cost, kind, value in (
        (100, "amount", "5.00"),
        (200, "amount", "10.00"),
        (500, "percent", "20.00"),
        (900, "amount", "50.00"),
    ):
        Reward.objects.create(
            organization=organization,
            name=f"Reward {cost}",
            points_cost=cost,
            kind=kind,
            value=Decimal(value),
        )
    Reward.objects.create(
        organization=organization, name="Old", points_cost=10, value=Decimal("1"), active=False
    )
    sell(register, budtender, [stocked(shop, "Blue Dream 3.5g")], customer=ada, days_ago=20, amount="250.00")
    sell(register, budtender, [stocked(shop, "Old Kush")], customer=ada, days_ago=400, amount="900.00")
    promotion = Promotion.objects.create(
        organization=organization, name="Ten off", kind="percent", value=Decimal("10")
    )
    until = START + dt.timedelta(days=14)
    open_coupon = coupon_issue_personal(
        promotion=promotion,
        customer_id=ada.pk,
        message_key="m1",
        valid_until=until,
        min_spend=Decimal("40.00"),
    )
    used = coupon_issue_personal(promotion=promotion, customer_id=ada.pk, message_key="m2")
    used.uses = 1
    used.save()
    coupon_issue_personal(
        promotion=promotion, customer_id=ada.pk, message_key="m3", valid_until=START - dt.timedelta(days=1)
    )
    coupon_issue_personal(
        promotion=promotion, customer_id=CustomerFactory(organization=organization).pk, message_key="m4"
    )
    inactive = coupon_issue_personal(promotion=promotion, customer_id=ada.pk, message_key="m5")
    inactive.active = False
    inactive.save()

    page = loyalty_page_get(customer=ada, now=START)
    assert page.balance == 120 and page.program_enabled
    assert page.tier == TierProgress("Silver", Decimal("250.00"), 365, "Gold", Decimal("250.00"), 37)
    assert page.rewards_now == (RewardLine("Reward 100", 100, "$5.00 off", 0),)
    assert page.rewards_next == (
        RewardLine("Reward 200", 200, "$10.00 off", 80),
        RewardLine("Reward 500", 500, "20% off", 380),
    )
    assert page.coupons == (CouponLine(open_coupon.code, "10% off", until, Decimal("40.00")),)
    assert page.history == (
        HistoryLine(START - dt.timedelta(days=2), "Points spent on a reward", -30),
        HistoryLine(START - dt.timedelta(days=9), "Points earned", 150),
    )
    assert page.choices == (
        ChannelChoice("sms", "Text messages", False, False, True, "+14155550134"),
        ChannelChoice("email", "Email", False, False, False, ""),
    )

    _, token = opened
    content = client.get(f"/my/{token}/").content.decode()
    assert "<strong data-balance>120</strong> points" in content
    assert "Your level: <strong>Silver</strong>" in content
    assert "Spend $250.00 more in the last 365 days to reach Gold." in content
    assert "<strong>Reward 100</strong> · $5.00 off" in content
    assert "(80 more points)" in content and "(380 more points)" in content and "Reward 900" not in content
    assert f'<p class="loy__code">{open_coupon.code}</p>' in content
    assert "10% off on $40.00 or more · until Apr 26, 2027" in content
    assert content.count("data-coupon>") == 1
    assert content.count("data-history-line") == 2
    assert "Send me offers by text at (415) 555-0134" in content
    assert "We have no email address for you" in content


def test_the_page_view_is_audited_as_the_customers_own_read(client, ada, opened, shop):
    _, token = opened
    client.get(f"/my/{token}/")
    record = AuditRecord.objects.get(action="customer.viewed")
    assert (record.actor, record.actor_label, record.object_id, record.store, record.after) == (
        None,
        f"customer:{ada.pk} (themselves, loyalty page)",
        str(ada.pk),
        shop,
        {"via": "loyalty_page"},
    )
    assert record.organization_id == ada.organization_id


def test_the_page_reads_in_a_fixed_number_of_queries(client, ada, opened, django_assert_max_num_queries):
    _, token = opened
    with django_assert_max_num_queries(12):
        assert client.get(f"/my/{token}/").status_code == 200


# --- Consent -----------------------------------------------------------------------------------------------


def test_turning_texts_on_records_a_web_grant_waiting_for_yes(client, ada, opened, shop):
    _, token = opened
    response = client.post(
        f"/my/{token}/choices/",
        {"sms": "on", "age_affirmed": "on"},
        REMOTE_ADDR="203.0.113.7",
        HTTP_USER_AGENT="Phone Browser 1.0",
    )
    assert response.status_code == 302 and response["Location"] == f"/my/{token}/?saved=1"
    consent = MarketingConsent.objects.get()
    assert (
        consent.channel,
        consent.purpose,
        consent.granted,
        consent.awaiting_confirmation,
        consent.age_affirmed,
        consent.source,
        consent.ip_address,
        consent.user_agent,
        consent.disclosure_version,
        consent.staff,
        consent.store,
        consent.evidence,
    ) == (
        "sms",
        "marketing",
        True,
        True,
        True,
        "web",
        "203.0.113.7",
        "Phone Browser 1.0",
        "sms-2025-01",
        None,
        shop,
        "The customer's loyalty page",
    )
    assert "I agree to receive recurring automated marketing text messages" in consent.disclosure_text
    page = client.get(response["Location"]).content.decode()
    assert "Your choices are saved." in page and "Waiting for your YES" in page
    # Turning it off again is a revocation.
    client.post(f"/my/{token}/choices/", {}, REMOTE_ADDR="203.0.113.7")
    latest = MarketingConsent.objects.order_by("-pk").first()
    assert (latest.granted, latest.source, latest.channel, MarketingConsent.objects.count()) == (
        False,
        "web",
        "sms",
        2,
    )


def test_turning_on_needs_the_age_box_and_an_address(client, ada, opened):
    _, token = opened
    response = client.post(f"/my/{token}/choices/", {"sms": "on"})
    assert response.status_code == 400
    assert "Tick the box to confirm you are 21 or older." in response.content.decode()
    response = client.post(f"/my/{token}/choices/", {"email": "on", "age_affirmed": "on"})
    assert response.status_code == 400
    assert "Add the customer&#x27;s email address" in response.content.decode()
    assert MarketingConsent.objects.count() == 0


def test_choices_need_the_pages_session(client, ada, clock):
    clock.move_to(START)
    token = loyalty_link_token(loyalty_link_send(customer=ada))
    response = client.post(f"/my/{token}/choices/", {"sms": "on", "age_affirmed": "on"})
    assert response.status_code == 403
    assert MarketingConsent.objects.count() == 0


def test_the_session_ends_after_thirty_minutes_and_on_sign_out(client, ada, opened, clock):
    _, token = opened
    clock.move_to(START + dt.timedelta(minutes=29))
    assert "Hi Ada" in client.get(f"/my/{token}/").content.decode()
    client.post(f"/my/{token}/sign-out/")
    assert "Text me a code" in client.get(f"/my/{token}/").content.decode()


# --- Tokens ------------------------------------------------------------------------------------------------


def test_another_customers_token_shows_nothing_of_them(client, ada, opened, shop):
    link, _ = opened
    bob = CustomerFactory(organization=shop.organization, first_name="Bob", phone="+14155550177")
    bob_token = loyalty_link_token(loyalty_link_send(customer=bob))
    content = client.get(f"/my/{bob_token}/").content.decode()
    assert "Text me a code" in content and "Hi Bob" not in content and "Hi Ada" not in content
    # Ada's nonce signed under Bob's id, or a token altered by hand: not ours.
    forged = f"{bob.pk}.{link.nonce}.{loyalty_link_token(link).rsplit('.', 1)[1]}"
    assert client.get(f"/my/{forged}/").status_code == 404
    assert client.get("/my/not-a-token/").status_code == 404
    assert not AuditRecord.objects.filter(action="customer.viewed", object_id=str(bob.pk)).exists()


def test_expired_and_revoked_links_open_nothing(client, ada, opened, clock):
    link, token = opened
    loyalty_link_revoke(link=link, reason="asked by the customer")
    response = client.get(f"/my/{token}/")
    assert response.status_code == 404
    assert "This link is not valid, or it has expired." in response.content.decode()
    fresh = loyalty_link_send(customer=ada)
    clock.move_to(START + dt.timedelta(days=30, seconds=1))
    assert client.get(f"/my/{loyalty_link_token(fresh)}/").status_code == 404


# --- Staff: the link from the register ---------------------------------------------------------------------


def test_a_budtender_texts_the_link_from_the_register(client, budtender, ada, shop):
    client.force_login(budtender)
    response = client.post(f"/messaging/loyalty/customers/{ada.pk}/link/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "Texted the loyalty page link to (415) 555-0134." in response.content.decode()
    link = LoyaltyPageLink.objects.get()
    assert (link.customer, link.via, link.requested_by, link.store) == (ada, "staff", budtender, shop)
    assert len(_texts(ada, "loyalty_link")) == 1
    assert AuditRecord.objects.filter(action="customer.loyalty_link_sent", actor=budtender).count() == 1


def test_staff_cannot_text_another_organizations_customer(client, budtender):
    stranger = CustomerFactory(organization=OrganizationFactory())
    client.force_login(budtender)
    assert client.post(f"/messaging/loyalty/customers/{stranger.pk}/link/").status_code == 404
    assert OutboundMessage.objects.count() == 0
    anonymous = Client()
    assert anonymous.post(f"/messaging/loyalty/customers/{stranger.pk}/link/").status_code == 302


def test_the_register_offers_the_button(client, budtender, ada, shop):
    from django.template.loader import render_to_string

    html = render_to_string("messaging/loyalty/_send_link.html", {"customer": ada})
    assert f'action="/messaging/loyalty/customers/{ada.pk}/link/"' in html
    assert (
        render_to_string("messaging/loyalty/_send_link.html", {"customer": Customer(phone="")}).strip() == ""
    )
