"""Message templates: which words a message goes out with (the store's, the organization's default, the built-in;
the customer's language, else English), their variables (unknown ones refused when saved, never an error when
rendered), the opt-out line of marketing texts (once), what a text costs (GSM-7 or UCS-2, parts), and the
managers' page with its live preview (organization and store scoping, budtenders 403, a fixed query count)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dispensary.errors import ValidationFailed
from dispensary.models import AuditRecord
from messaging.models import MessageTemplate
from messaging.rendering import (
    OPT_OUT_LINE,
    message_render,
    opt_out_line_add,
    render_text,
    sms_count,
    template_resolve,
)
from messaging.services_templates import message_template_save
from tests.factories import OrganizationFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db

VALUES = {
    "first_name": "Ada",
    "store_name": "Green Leaf",
    "order_number": "42",
    "order_total": "$54.20",
    "hold_until": "today at 9:00 PM",
}


def template(organization, *, key="pickup_ready", store=None, language="en", body="Org words", **extra):
    return MessageTemplate.objects.create(
        organization=organization, store=store, key=key, channel="sms", language=language, body=body, **extra
    )


def words(organization, store, *, language="en", key="pickup_ready"):
    return template_resolve(
        organization_id=organization.pk, store_id=store.pk, key=key, channel="sms", language=language
    )


# --- Resolution ---------------------------------------------------------------------------------------------


def test_built_in_words_until_a_template_is_written(organization, store):
    found = words(organization, store)
    assert (found.source, found.language, found.template_id) == ("built-in", "en", None)
    rendered = message_render(
        organization_id=organization.pk,
        store_id=store.pk,
        key="pickup_ready",
        channel="sms",
        variables=VALUES,
    )
    assert rendered.body == (
        "Green Leaf: your order #42 is ready for pickup ($54.20). We hold it until today at 9:00 PM. Bring your ID."
    )
    email = message_render(
        organization_id=organization.pk,
        store_id=store.pk,
        key="pickup_ready",
        channel="email",
        variables=VALUES,
    )
    assert email.subject == "Green Leaf: your order #42 is ready"
    assert email.body.startswith("Hi Ada,\n\nYour order #42 is ready for pickup. Total: $54.20.")


def test_store_template_over_organization_default_over_built_in(organization, store):
    other_store = StoreFactory(organization=organization)
    default = template(organization, body="Org: {first_name}, #{order_number} is ready.")
    assert words(organization, store).template_id == default.pk
    mine = template(organization, store=store, body="Store: {first_name}, come get #{order_number}!")
    template(organization, store=other_store, body="Other store")
    found = words(organization, store)
    assert (found.source, found.template_id) == ("store", mine.pk)
    assert words(organization, other_store).body == "Other store"
    # Another organization's templates are never used.
    template(OrganizationFactory(), body="Not ours")
    assert words(organization, StoreFactory(organization=organization)).template_id == default.pk
    # A template turned off is as if it were not there.
    MessageTemplate.objects.filter(pk=mine.pk).update(active=False)
    assert words(organization, store).template_id == default.pk


def test_the_customers_language_else_english(organization, store):
    english = template(organization, store=store, body="Ready")
    spanish_default = template(organization, language="es", body="Listo")
    # The customer's language first (even the organization's default beats the store's English)...
    assert words(organization, store, language="es").template_id == spanish_default.pk
    # ... "es-MX" falls back to "es", then to English.
    assert words(organization, store, language="es-MX").template_id == spanish_default.pk
    assert words(organization, store, language="fr").template_id == english.pk
    MessageTemplate.objects.all().delete()
    found = words(organization, store, language="fr")
    assert (found.source, found.language) == ("built-in", "en")


def test_delivery_messages_have_no_built_in_here_but_may_be_overridden(organization, store):
    assert words(organization, store, key="delivery_nearby") is None
    template(organization, key="delivery_nearby", body="{driver_first_name} is close.")
    assert words(organization, store, key="delivery_nearby").body == "{driver_first_name} is close."


# --- Variables ----------------------------------------------------------------------------------------------


def test_rendering_never_fails_on_unknown_or_odd_braces():
    assert render_text("Hi {first_name} {nope} {not a var} {{x}}", {"first_name": "Ada"}) == (
        "Hi Ada  {not a var} {}"
    )
    assert render_text("", {}) == ""


def test_saving_refuses_unknown_variables_and_writes_nothing(organization, store, manager):
    with pytest.raises(ValidationFailed) as refused:
        message_template_save(
            organization=organization,
            actor=manager,
            store=store,
            key="points_earned",
            channel="sms",
            language="en",
            category="transactional",
            subject="",
            body="You earned {points} points, {order_number} {tier}!",
        )
    assert refused.value.details["body"] == [
        "Unknown variable {order_number}, {tier}: this message can use {first_name}, {store_name}, "
        "{store_phone}, {store_address}, {shop_link}, {points}, {points_balance}."
    ]
    assert MessageTemplate.objects.count() == 0
    assert AuditRecord.objects.filter(action__startswith="message_template").count() == 0


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"category": "marketing"}, "category", "Pickup order ready is a transactional message."),
        ({"language": "Spanish"}, "language", 'Use a language code such as "en" or "es" (or "es-MX").'),
        ({"body": "  "}, "body", "Write the message."),
        ({"key": "Pickup Ready"}, "key", None),
        ({"channel": "email", "subject": ""}, "subject", "An email needs a subject."),
        (
            {"body": "See https://elsewhere.example/deal"},
            "body",
            "The link https://elsewhere.example/deal does not lead to one of our sites, so it cannot be sent.",
        ),
    ],
)
def test_saving_refuses_bad_templates(organization, store, manager, changes, field, message):
    values = {
        "store": store,
        "key": "pickup_ready",
        "channel": "sms",
        "language": "en",
        "category": "transactional",
        "subject": "",
        "body": "#{order_number} is ready",
        **changes,
    }
    with pytest.raises(ValidationFailed) as refused:
        message_template_save(organization=organization, actor=manager, **values)
    assert field in refused.value.details
    if message:
        assert refused.value.details[field] == [message]
    assert MessageTemplate.objects.count() == 0


def test_saving_refuses_another_organizations_store_and_a_duplicate(organization, store, manager):
    foreign = StoreFactory()
    common = {
        "key": "pickup_ready",
        "channel": "sms",
        "language": "en",
        "category": "transactional",
        "subject": "",
        "body": "#{order_number} is ready",
    }
    with pytest.raises(ValidationFailed) as refused:
        message_template_save(organization=organization, actor=manager, store=foreign, **common)
    assert refused.value.details == {"store": ["This store is not one of your organization's."]}
    saved = message_template_save(organization=organization, actor=manager, store=store, **common)
    assert AuditRecord.objects.filter(action="message_template.created", object_id=str(saved.pk)).count() == 1
    with pytest.raises(ValidationFailed) as duplicate:
        message_template_save(organization=organization, actor=manager, store=store, **common)
    assert duplicate.value.message == (
        f"There is already a sms template for pickup_ready in en for {store.name}: edit that one."
    )
    assert MessageTemplate.objects.count() == 1


def test_marketing_templates_take_links_to_the_shop(organization, manager, settings):
    settings.MESSAGING_SHOP_URL = "https://shop.example"
    saved = message_template_save(
        organization=organization,
        actor=manager,
        store=None,
        key="weekend_offer",
        channel="sms",
        language="en",
        category="marketing",
        subject="",
        body="{first_name}, 20% off this weekend: https://shop.example/deals",
    )
    assert (saved.store_id, saved.category) == (None, "marketing")


# --- SMS cost -----------------------------------------------------------------------------------------------


def test_segments_gsm_and_ucs2_with_an_emoji():
    assert sms_count("a" * 160) == sms_count("a" * 160).__class__(160, 160, 1, "GSM-7", ())
    two = sms_count("a" * 161)
    assert (two.units, two.segments, two.encoding, two.per_segment) == (161, 2, "GSM-7", 153)
    assert sms_count("a" * 306).segments == 2 and sms_count("a" * 307).segments == 3
    # Extension characters count twice: 80 of "€" fill one part exactly.
    euro = sms_count("€" * 80)
    assert (euro.characters, euro.units, euro.segments, euro.encoding) == (80, 160, 1, "GSM-7")
    # One emoji sends the whole text as UCS-2 (two units for the emoji): 70 per part, 67 when split.
    emoji = sms_count("Your order is ready 🌿")
    assert (emoji.characters, emoji.units, emoji.segments, emoji.encoding) == (21, 22, 1, "UCS-2")
    assert emoji.ucs2_characters == ("🌿",)
    long = sms_count("a" * 68 + "🌿")
    assert (long.units, long.segments, long.per_segment) == (70, 1, 70)
    longer = sms_count("a" * 69 + "🌿")
    assert (longer.units, longer.segments, longer.per_segment) == (71, 2, 67)
    curly = sms_count("It’s ready")  # a curly apostrophe is not in the GSM alphabet either
    assert (curly.encoding, curly.ucs2_characters) == ("UCS-2", ("’",))
    assert sms_count("").segments == 0


# --- Opt-out line -------------------------------------------------------------------------------------------


def test_opt_out_line_once(organization, store):
    assert opt_out_line_add("20% off today.") == f"20% off today. {OPT_OUT_LINE}"
    assert opt_out_line_add(f"20% off today. {OPT_OUT_LINE}") == f"20% off today. {OPT_OUT_LINE}"
    assert opt_out_line_add("20% off. Text STOP to quit") == "20% off. Text STOP to quit"
    assert opt_out_line_add("") == OPT_OUT_LINE
    template(
        organization,
        key="weekend_offer",
        body="{first_name}: 20% off! Reply STOP to opt out.",
        category="marketing",
    )
    template(organization, key="flash_sale", body="{first_name}: flash sale!", category="marketing")

    def render(key, channel="sms", category="marketing"):
        return message_render(
            organization_id=organization.pk,
            store_id=store.pk,
            key=key,
            channel=channel,
            variables=VALUES,
            category=category,
        )

    assert render("weekend_offer").body == "Ada: 20% off! Reply STOP to opt out."
    assert render("flash_sale").body == f"Ada: flash sale! {OPT_OUT_LINE}"
    # Transactional texts do not carry it (unless asked: the first text to a number)...
    assert render("pickup_ready", category="transactional").body.endswith("Bring your ID.")
    first = message_render(
        organization_id=organization.pk,
        store_id=store.pk,
        key="pickup_ready",
        channel="sms",
        variables=VALUES,
        opt_out=True,
    )
    assert first.body.endswith(f"Bring your ID. {OPT_OUT_LINE}")
    # ... and emails never do (they have their own unsubscribe).
    MessageTemplate.objects.create(
        organization=organization,
        key="flash_sale",
        channel="email",
        subject="Sale",
        body="Hi",
        category="marketing",
    )
    assert render("flash_sale", channel="email").body == "Hi"


# --- The managers' page -------------------------------------------------------------------------------------


POST = {
    "key": "pickup_ready",
    "channel": "sms",
    "category": "transactional",
    "language": "en",
    "store": "",
    "subject": "",
    "body": "{first_name}, order #{order_number} is ready!",
    "active": "on",
}


def test_manager_lists_creates_and_edits_templates(client, manager, organization, store):
    client.force_login(manager)
    page = client.get("/messaging/templates/")
    assert page.status_code == 200
    assert "Pickup order ready" in page.content.decode()
    created = client.post("/messaging/templates/new/", {**POST, "store": str(store.pk)})
    assert created.status_code == 302
    saved = MessageTemplate.objects.get()
    assert (saved.store_id, saved.body, saved.organization_id) == (
        store.pk,
        "{first_name}, order #{order_number} is ready!",
        organization.pk,
    )
    form = client.get(f"/messaging/templates/{saved.pk}/")
    assert form.status_code == 200
    # The preview is there without scripts too: the sample customer, and the text's cost.
    body = form.content.decode()
    assert "Ada, order #1042 is ready!" in body
    assert "26 characters · 1 part · GSM-7" in body
    changed = client.post(
        f"/messaging/templates/{saved.pk}/", {**POST, "store": str(store.pk), "body": "Ready, {first_name}"}
    )
    assert changed.status_code == 302
    saved.refresh_from_db()
    assert saved.body == "Ready, {first_name}"
    assert f"template-{saved.pk}" in client.get("/messaging/templates/").content.decode()


def test_unknown_variable_on_the_page_is_shown_and_nothing_is_saved(client, manager):
    client.force_login(manager)
    response = client.post("/messaging/templates/new/", {**POST, "body": "Hi {firstname}"})
    assert response.status_code == 400
    assert "Unknown variable {firstname}" in response.content.decode()
    assert MessageTemplate.objects.count() == 0


def test_store_choice_is_limited_to_the_members_stores(client, manager, organization):
    not_mine = StoreFactory(organization=organization)
    client.force_login(manager)
    response = client.post("/messaging/templates/new/", {**POST, "store": str(not_mine.pk)})
    assert response.status_code == 400
    assert MessageTemplate.objects.count() == 0
    hidden = template(organization, store=not_mine)
    assert client.get(f"/messaging/templates/{hidden.pk}/").status_code == 404
    assert f"template-{hidden.pk}" not in client.get("/messaging/templates/").content.decode()


def test_other_organizations_templates_are_404_and_budtenders_403(client, manager, budtender):
    foreign = template(OrganizationFactory())
    client.force_login(manager)
    assert client.get(f"/messaging/templates/{foreign.pk}/").status_code == 404
    assert client.post(f"/messaging/templates/{foreign.pk}/", POST).status_code == 404
    client.force_login(budtender)
    assert client.get("/messaging/templates/").status_code == 403
    assert client.post("/messaging/templates/new/", POST).status_code == 403
    assert client.post("/messaging/templates/preview/", POST).status_code == 403


def test_live_preview_counts_parts_and_warns_of_ucs2(client, manager, store):
    client.force_login(manager)
    response = client.post(
        "/messaging/templates/preview/",
        {**POST, "store": str(store.pk), "body": "{first_name}, your order is ready 🌿 {bogus}"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Ada, your order is ready 🌿" in html
    assert "26 characters · 1 part · UCS-2" in html
    assert 'id="preview-ucs2"' in html and "“🌿”" in html
    assert "Unknown variable: {bogus}" in html
    gsm = client.post("/messaging/templates/preview/", {**POST, "body": "x" * 161}).content.decode()
    assert "161 characters · 2 parts · GSM-7" in gsm and "preview-ucs2" not in gsm
    marketing = client.post(
        "/messaging/templates/preview/", {**POST, "key": "offer", "category": "marketing", "body": "Sale!"}
    ).content.decode()
    assert f"Sale! {OPT_OUT_LINE}" in marketing


def test_list_page_query_count_is_fixed(client, manager, organization, store):
    client.force_login(manager)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/messaging/templates/").status_code == 200
        return len(queries)

    template(organization)
    few = count()
    for key in ("points_earned", "tier_reached", "reward_available", "medical_card_expiring"):
        template(organization, key=key, store=store)
    assert count() == few


def test_nav_link_for_managers_only(client, manager, budtender):
    from dispensary.navigation import nav_links_for

    assert "Templates" in [link["label"] for link in nav_links_for(manager, "/")]
    assert "Templates" not in [link["label"] for link in nav_links_for(budtender, "/")]
    other = UserFactory(organization=manager.organization, roles=["owner"], stores=[])
    assert "Templates" in [link["label"] for link in nav_links_for(other, "/")]


def test_a_text_keeps_its_line_breaks_but_not_the_gaps_of_empty_variables(organization, store):
    template(
        organization, key="tier_reached", body="Hi {first_name} {store_phone}\n\n  You reached {tier}!  "
    )
    rendered = message_render(
        organization_id=organization.pk,
        store_id=store.pk,
        key="tier_reached",
        channel="sms",
        variables={"first_name": "Ada", "store_phone": "", "tier": "Gold"},
    )
    assert rendered.body == "Hi Ada\nYou reached Gold!"
