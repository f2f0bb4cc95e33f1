"""Marketing email carries one-click unsubscribe (List-Unsubscribe, List-Unsubscribe-Post: RFC 8058), a visible
link and the store's postal address (CAN-SPAM); transactional email does not. The link works without a session,
a cookie or a CSRF token, takes effect before the next marketing email is sent, and records nothing twice."""

import datetime as dt

import pytest
from django.core import mail
from django.test import Client

from dispensary.models import MarketingConsent
from messaging.email_compose import unsubscribe_token, unsubscribe_url
from messaging.models import MessageStatusEvent, OutboundMessage, Suppression
from messaging.queue import message_enqueue
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

SITE = "https://shop.greenleaf.test"


@pytest.fixture(autouse=True)
def mail_settings(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.DEFAULT_FROM_EMAIL = "Green Leaf <offers@greenleaf.test>"
    settings.PUBLIC_SITE_URL = SITE
    settings.MESSAGING_UNSUBSCRIBE_EMAIL = "unsubscribe@greenleaf.test"


@pytest.fixture
def customer(organization):
    customer = CustomerFactory(organization=organization, email="Ada@Example.com")
    MarketingConsent.objects.create(
        customer=customer,
        channel="email",
        purpose="marketing",
        granted=True,
        disclosure_version="email-2025-01",
        disclosure_text="x",
        source="web",
        recorded_at=dt.datetime(2026, 1, 5, tzinfo=dt.UTC),
    )
    return customer


def queue_email(
    store, customer, capture, *, category="marketing", html_body="", subject="This week"
) -> OutboundMessage:
    with capture(execute=True):
        message = message_enqueue(
            organization_id=store.organization_id,
            store_id=store.pk,
            customer_id=customer.pk,
            channel="email",
            category=category,
            purpose="campaign" if category == "marketing" else "receipt",
            to=customer.email,
            subject=subject,
            body="20% off pre-rolls this weekend.",
            html_body=html_body,
        )
    message.refresh_from_db()
    return message


def path_of(message) -> str:
    return unsubscribe_url(message).removeprefix(SITE)


def one_click(message, **kwargs):
    client = Client(enforce_csrf_checks=True)
    return client.post(
        path_of(message),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
        **kwargs,
    )


def test_marketing_email_carries_one_click_unsubscribe_and_the_postal_address(
    store, customer, django_capture_on_commit_callbacks
):
    message = queue_email(store, customer, django_capture_on_commit_callbacks)
    assert message.status == "sent"
    [email] = mail.outbox
    url = unsubscribe_url(message)
    assert url == f"{SITE}/messaging/unsubscribe/{unsubscribe_token(message)}/"
    assert email.extra_headers["List-Unsubscribe"] == (
        f"<{url}>, <mailto:unsubscribe@greenleaf.test?subject=unsubscribe%20{unsubscribe_token(message)}>"
    )
    assert email.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert email.body == (
        "20% off pre-rolls this weekend.\n\n--\n"
        f"You receive these emails because you agreed to offers by email. Unsubscribe: {url}\n"
        f"{store.name}, 1 Market St, San Francisco, CA 94105\n"
    )
    assert message.body == "20% off pre-rolls this weekend."  # the stored message is what was written


def test_the_html_part_gets_the_link_and_address_before_its_end(
    store, customer, django_capture_on_commit_callbacks
):
    message = queue_email(
        store,
        customer,
        django_capture_on_commit_callbacks,
        html_body="<html><body><p>Offer</p></body></html>",
    )
    [email] = mail.outbox
    [(html, mimetype)] = email.alternatives
    assert mimetype == "text/html"
    assert html.startswith("<html><body><p>Offer</p><p ")
    assert f'<a href="{unsubscribe_url(message)}">Unsubscribe</a>' in html
    assert html.endswith(f"<br>{store.name}, 1 Market St, San Francisco, CA 94105</p></body></html>")


def test_without_an_unsubscribe_mailbox_only_the_link_is_listed(
    settings, store, customer, django_capture_on_commit_callbacks
):
    settings.MESSAGING_UNSUBSCRIBE_EMAIL = ""
    message = queue_email(store, customer, django_capture_on_commit_callbacks)
    [email] = mail.outbox
    assert email.extra_headers["List-Unsubscribe"] == f"<{unsubscribe_url(message)}>"


def test_transactional_email_has_no_unsubscribe(store, customer, django_capture_on_commit_callbacks):
    queue_email(
        store, customer, django_capture_on_commit_callbacks, category="transactional", subject="Receipt"
    )
    [email] = mail.outbox
    assert "List-Unsubscribe" not in email.extra_headers
    assert "List-Unsubscribe-Post" not in email.extra_headers
    assert email.body == "20% off pre-rolls this weekend."


def test_one_click_unsubscribe_without_a_session_stops_the_next_marketing_email(
    store, customer, django_capture_on_commit_callbacks
):
    first = queue_email(store, customer, django_capture_on_commit_callbacks)
    response = one_click(first)
    assert response.status_code == 200
    assert b"You are unsubscribed" in response.content
    assert response["X-Robots-Tag"] == "noindex, nofollow, noarchive"
    revocation = MarketingConsent.objects.filter(customer=customer).order_by("-id").first()
    assert (revocation.channel, revocation.purpose, revocation.granted, revocation.source) == (
        "email",
        "marketing",
        False,
        "unsubscribe",
    )
    assert str(first.key) in revocation.evidence
    [suppression] = Suppression.objects.all()
    assert (suppression.channel, suppression.address, suppression.reason, suppression.category) == (
        "email",
        "ada@example.com",
        "unsubscribed",
        "marketing",
    )
    following = queue_email(store, customer, django_capture_on_commit_callbacks, subject="Next week")
    assert following.status == "refused"
    assert len(mail.outbox) == 1
    receipt = queue_email(store, customer, django_capture_on_commit_callbacks, category="transactional")
    assert receipt.status == "sent"  # receipts still go
    assert len(mail.outbox) == 2


def test_a_second_click_answers_200_and_records_nothing_twice(
    store, customer, django_capture_on_commit_callbacks
):
    message = queue_email(store, customer, django_capture_on_commit_callbacks)
    assert one_click(message).status_code == 200
    assert one_click(message).status_code == 200
    assert MarketingConsent.objects.filter(customer=customer, granted=False).count() == 1
    assert Suppression.objects.count() == 1


def test_the_page_asks_first_and_a_get_changes_nothing(store, customer, django_capture_on_commit_callbacks):
    message = queue_email(store, customer, django_capture_on_commit_callbacks)
    response = Client().get(path_of(message))
    assert response.status_code == 200
    assert b'<form method="post">' in response.content and b"Unsubscribe</button>" in response.content
    assert b"ada@example.com" in response.content.lower()
    assert MarketingConsent.objects.filter(granted=False).count() == 0
    assert Suppression.objects.count() == 0


@pytest.mark.parametrize("token", ["1:forged", "not-a-token", "x" * 200])
def test_a_token_that_is_not_ours_is_404_and_writes_nothing(store, customer, token):
    client = Client(enforce_csrf_checks=True)
    assert client.post(f"/messaging/unsubscribe/{token}/").status_code == 404
    assert client.get(f"/messaging/unsubscribe/{token}/").status_code == 404
    assert Suppression.objects.count() == 0


def test_a_token_of_another_message_id_or_of_a_transactional_email_is_404(
    store, customer, django_capture_on_commit_callbacks
):
    receipt = queue_email(store, customer, django_capture_on_commit_callbacks, category="transactional")
    assert one_click(receipt).status_code == 404
    marketing = queue_email(store, customer, django_capture_on_commit_callbacks)
    token = unsubscribe_token(marketing)
    forged = f"{receipt.pk}:{token.partition(':')[2]}"
    assert Client().post(f"/messaging/unsubscribe/{forged}/").status_code == 404
    assert Suppression.objects.count() == 0
    assert MessageStatusEvent.objects.filter(status="refused").count() == 0
