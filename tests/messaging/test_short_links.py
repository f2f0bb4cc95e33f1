"""Short links: a queued message's links to the shop become PUBLIC_SITE_URL/l/<code> (one per link per message,
unguessable codes; our own pages and unknown hosts are left alone); opening one records the click and asks the
age question before any product content; yes leads on (only to an allowed host: never an open redirect) and is
remembered by a signed cookie; no shows a plain page; a bad code is 404; too many requests are 429."""

import re

import pytest

from messaging.links import links_shorten, short_link_create
from messaging.models import LinkClick, OutboundMessage, ShortLink
from messaging.queue import message_enqueue
from messaging.sms import sms_segments
from messaging.views_links import AGE_COOKIE

pytestmark = pytest.mark.django_db

SITE = "https://go.example"
SHOP = "https://shop.example"


@pytest.fixture(autouse=True)
def sites(settings):
    settings.PUBLIC_SITE_URL = SITE
    settings.MESSAGING_SHOP_URL = SHOP
    settings.MESSAGING_LINK_HOSTS = ["menu.example"]
    settings.MESSAGING_LINK_RATE_PER_MINUTE = 60


def enqueue(organization, body, **extra):
    return message_enqueue(
        organization_id=organization.pk,
        channel="sms",
        to="+14155550123",
        body=body,
        purpose="campaign",
        **extra,
    )


def code_of(url: str) -> str:
    match = re.fullmatch(rf"{re.escape(SITE)}/l/([A-Za-z0-9_-]+)", url)
    assert match, url
    return match.group(1)


def test_links_to_the_shop_are_shortened_once_per_link_per_message(organization):
    body = (
        f"Deals: {SHOP}/deals?utm=sms. Menu: https://menu.example/m and again {SHOP}/deals?utm=sms! "
        f"Track: {SITE}/delivery/t/abc/ Other: https://elsewhere.example/x"
    )
    message = enqueue(organization, body)
    message.refresh_from_db()
    links = {link.target_url: link for link in ShortLink.objects.filter(message=message)}
    assert set(links) == {f"{SHOP}/deals?utm=sms", "https://menu.example/m"}
    deals, menu = links[f"{SHOP}/deals?utm=sms"], links["https://menu.example/m"]
    assert message.body == (
        f"Deals: {SITE}/l/{deals.code}. Menu: {SITE}/l/{menu.code} and again {SITE}/l/{deals.code}! "
        f"Track: {SITE}/delivery/t/abc/ Other: https://elsewhere.example/x"
    )
    assert len(deals.code) >= 8 and deals.code != menu.code
    assert (deals.organization_id, deals.age_gate) == (organization.pk, True)
    assert message.segments == sms_segments(message.body)
    # The same link in another message is another short link: its clicks are that message's.
    second = enqueue(organization, f"Again {SHOP}/deals?utm=sms")
    second.refresh_from_db()
    other = ShortLink.objects.get(message=second)
    assert other.code != deals.code and second.body == f"Again {SITE}/l/{other.code}"


def test_html_body_and_a_message_without_links(organization):
    plain = enqueue(organization, "No links here.")
    assert ShortLink.objects.count() == 0 and plain.body == "No links here."
    email = message_enqueue(
        organization_id=organization.pk,
        channel="email",
        to="ada@example.com",
        subject="Deals",
        body=f"See {SHOP}/deals",
        html_body=f'<a href="{SHOP}/deals">See the deals</a>',
        purpose="campaign",
    )
    email.refresh_from_db()
    link = ShortLink.objects.get(message=email)
    assert email.body == f"See {SITE}/l/{link.code}"
    assert email.html_body == f'<a href="{SITE}/l/{link.code}">See the deals</a>'
    assert links_shorten(email) == 0  # nothing left to shorten


def test_opening_records_the_click_and_asks_the_age_question_first(client, organization):
    link = short_link_create(organization_id=organization.pk, target_url=f"{SHOP}/product/blue-dream")
    response = client.get(f"/l/{link.code}", HTTP_USER_AGENT="Phone/1.0")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Are you 21 or older?" in html
    assert "blue-dream" not in html  # nothing of the product before the gate
    assert response["X-Robots-Tag"] == "noindex, nofollow, noarchive"
    [click] = LinkClick.objects.all()
    assert (click.link_id, click.passed_age_gate, click.user_agent) == (link.pk, False, "Phone/1.0")
    token = re.search(r'name="click" value="([^"]+)"', html).group(1)
    passed = client.post(f"/l/{link.code}", {"answer": "yes", "click": token})
    assert (passed.status_code, passed["Location"]) == (302, f"{SHOP}/product/blue-dream")
    assert AGE_COOKIE in passed.cookies
    click.refresh_from_db()
    assert click.passed_age_gate is True
    # The next link skips the question: the signed cookie remembers the answer.
    again = client.get(f"/l/{link.code}")
    assert (again.status_code, again["Location"]) == (302, f"{SHOP}/product/blue-dream")
    assert list(LinkClick.objects.order_by("pk").values_list("passed_age_gate", flat=True)) == [True, True]


def test_declining_shows_a_plain_page_and_leads_nowhere(client, organization):
    link = short_link_create(organization_id=organization.pk, target_url=f"{SHOP}/deals")
    client.get(f"/l/{link.code}")
    response = client.post(f"/l/{link.code}", {"answer": "no"})
    assert response.status_code == 200
    assert "Come back when you are 21" in response.content.decode()
    assert "Location" not in response and AGE_COOKIE not in response.cookies
    assert LinkClick.objects.get().passed_age_gate is False
    # A forged cookie is not a pass.
    client.cookies[AGE_COOKIE] = "yes"
    assert client.get(f"/l/{link.code}").status_code == 200
    bad = client.post(f"/l/{link.code}", {"answer": "maybe"})
    assert bad.status_code == 400


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/phish",
        "https://shop.example@evil.example/",
        "javascript:alert(1)",
        "ftp://shop.example/file",
        "//evil.example/x",
    ],
)
def test_never_an_open_redirect(client, organization, target):
    link = ShortLink.objects.create(code="Abcdefgh12", organization=organization, target_url=target)
    client.get(f"/l/{link.code}")
    response = client.post(f"/l/{link.code}", {"answer": "yes"})
    assert response.status_code == 400
    assert "Location" not in response
    assert "This link cannot be opened" in response.content.decode()
    # Even past the gate already (or with a link that asks nothing), it does not lead there.
    ShortLink.objects.filter(pk=link.pk).update(age_gate=False)
    assert "Location" not in client.get(f"/l/{link.code}")


@pytest.mark.parametrize("code", ["nosuchcode1", "x", "bad.code!x", "a" * 40])
def test_bad_code_is_404(client, code):
    response = client.get(f"/l/{code}")
    assert response.status_code == 404
    assert "This link is not valid." in response.content.decode()
    assert LinkClick.objects.count() == 0


def test_rate_limited_per_address(client, organization, settings):
    settings.MESSAGING_LINK_RATE_PER_MINUTE = 2
    link = short_link_create(organization_id=organization.pk, target_url=f"{SHOP}/deals")
    assert client.get(f"/l/{link.code}").status_code == 200
    assert client.get(f"/l/{link.code}").status_code == 200
    refused = client.get(f"/l/{link.code}")
    assert (refused.status_code, refused["Retry-After"]) == (429, "60")
    assert LinkClick.objects.count() == 2


def test_the_message_keeps_its_links(organization):
    message = enqueue(organization, f"{SHOP}/a {SHOP}/b")
    assert sorted(message.links.values_list("target_url", flat=True)) == [f"{SHOP}/a", f"{SHOP}/b"]
    assert OutboundMessage.objects.get(pk=message.pk).body.count(f"{SITE}/l/") == 2
