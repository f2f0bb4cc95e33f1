"""The Django admin of the core: writes with rules go through the services; logs are read-only; secrets once."""

import pytest
from django.contrib.messages import get_messages

from dispensary.models import ApiClient, AuditRecord, EventDelivery, StaffToken
from dispensary.services import secret_hash, staff_token_create
from tests.factories import CustomerFactory, UserFactory


@pytest.fixture
def admin_client(client, organization, store):
    client.force_login(UserFactory(organization=None, is_superuser=True, is_staff=True, username="root"))
    return client


@pytest.mark.parametrize(
    "model",
    [
        "organization",
        "store",
        "user",
        "customer",
        "auditrecord",
        "outboxevent",
        "eventdelivery",
        "apiclient",
        "stafftoken",
    ],
)
def test_changelists_render(admin_client, model, customer, dead_letter, organization):
    dead_letter(organization)
    assert admin_client.get(f"/admin/dispensary/{model}/").status_code == 200


def test_customer_search_by_phone_in_any_format(admin_client, organization, customer):
    CustomerFactory(organization=organization, phone="+14155550188")
    response = admin_client.get("/admin/dispensary/customer/", {"q": "(415) 555-0134"})
    assert list(response.context["cl"].result_list) == [customer]


def test_audit_records_are_read_only(admin_client, organization, store, staff):
    record = AuditRecord.objects.create(actor_label="x", action="a", object_type="t", object_id="1")
    assert admin_client.get("/admin/dispensary/auditrecord/add/").status_code == 403
    assert (
        admin_client.post(f"/admin/dispensary/auditrecord/{record.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    page = admin_client.get(f"/admin/dispensary/auditrecord/{record.pk}/change/")
    assert page.status_code == 200
    assert b'name="_save"' not in page.content


def test_outbox_is_read_only_and_retry_action_uses_the_service(admin_client, organization, dead_letter):
    dead = dead_letter(organization)
    assert admin_client.get("/admin/dispensary/eventdelivery/add/").status_code == 403
    assert admin_client.get("/admin/dispensary/outboxevent/add/").status_code == 403
    response = admin_client.post(
        "/admin/dispensary/eventdelivery/",
        {"action": "retry_dead_letters", "_selected_action": [dead.pk]},
        follow=True,
    )
    assert response.status_code == 200
    dead.refresh_from_db()
    assert dead.status == EventDelivery.Status.PENDING
    assert AuditRecord.objects.filter(action="event_delivery.retried", object_id=str(dead.pk)).count() == 1


def test_creating_an_api_client_shows_the_key_once(admin_client, organization, store):
    response = admin_client.post(
        "/admin/dispensary/apiclient/add/",
        {
            "organization": organization.pk,
            "name": "Online menu",
            "scopes": ["stores:read"],
            "stores": [store.pk],
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    client = ApiClient.objects.get()
    assert client.scopes == ["stores:read"]
    assert list(client.stores.all()) == [store]
    assert AuditRecord.objects.filter(action="api_client.created").count() == 1
    shown = [str(message) for message in get_messages(response.wsgi_request)]
    key = next(text for text in shown if "copy it now" in text).split(": ", 1)[1].split(" ")[0]
    assert key.startswith(f"dsp_c_{client.key_prefix}_")
    assert client.secret_hash == secret_hash(key.split(f"{client.key_prefix}_", 1)[1])
    # Shown on the next page only (the message), never again.
    assert key in admin_client.get(response["Location"]).content.decode()
    page = admin_client.get(f"/admin/dispensary/apiclient/{client.pk}/change/").content.decode()
    assert key not in page
    assert client.secret_hash not in page


def test_api_client_with_a_store_of_another_organization_is_refused(admin_client, organization, other_store):
    response = admin_client.post(
        "/admin/dispensary/apiclient/add/",
        {
            "organization": organization.pk,
            "name": "Menu",
            "scopes": ["stores:read"],
            "stores": [other_store.pk],
        },
    )
    assert response.status_code == 200
    assert ApiClient.objects.count() == 0


def test_revoke_api_client_action(admin_client, organization, store):
    from dispensary.services import api_client_create

    client, _ = api_client_create(
        organization=organization, actor=None, name="Menu", scopes=[], stores=[store]
    )
    admin_client.post("/admin/dispensary/apiclient/", {"action": "revoke", "_selected_action": [client.pk]})
    client.refresh_from_db()
    assert client.is_active is False


def test_staff_tokens_are_read_only_and_revocable(admin_client, staff):
    member = staff("manager")
    token, key = staff_token_create(user=member, name="laptop")
    assert admin_client.get("/admin/dispensary/stafftoken/add/").status_code == 403
    page = admin_client.get(f"/admin/dispensary/stafftoken/{token.pk}/change/").content.decode()
    assert token.secret_hash not in page
    assert key not in page
    admin_client.post("/admin/dispensary/stafftoken/", {"action": "revoke", "_selected_action": [token.pk]})
    assert not StaffToken.objects.filter(pk=token.pk).exists()
    assert AuditRecord.objects.filter(action="staff_token.revoked").count() == 1


def test_user_admin_shows_roles(admin_client, staff):
    staff("manager", username="maria")
    response = admin_client.get("/admin/dispensary/user/", {"q": "maria"})
    assert b"manager" in response.content


def _store_choices(response) -> set[int]:
    return {store.pk for store in response.context["adminform"].form.fields["stores"].queryset}


def test_the_api_client_form_offers_only_the_organizations_stores(
    admin_client, organization, store, other_store
):
    from dispensary.services import api_client_create

    asked = admin_client.get("/admin/dispensary/apiclient/add/", {"organization": organization.pk})
    assert _store_choices(asked) == {store.pk}
    assert other_store.name not in asked.content.decode()

    client, _ = api_client_create(
        organization=organization, actor=None, name="Menu", scopes=[], stores=[store]
    )
    change = admin_client.get(f"/admin/dispensary/apiclient/{client.pk}/change/")
    assert _store_choices(change) == {store.pk}
    refused = admin_client.post(
        f"/admin/dispensary/apiclient/{client.pk}/change/",
        {"name": "Menu", "scopes": [], "stores": [other_store.pk]},
    )
    assert refused.status_code == 200
    assert list(client.stores.all()) == [store]


def test_an_owner_makes_api_clients_of_their_own_organization_only(client, organization, store, other_store):
    from dispensary.services import api_client_create

    owner = UserFactory(organization=organization, roles=["owner"], stores=[store], is_staff=True)
    theirs, _ = api_client_create(
        organization=other_store.organization, actor=None, name="Theirs", scopes=[], stores=[other_store]
    )
    client.force_login(owner)

    page = client.get("/admin/dispensary/apiclient/add/")
    assert page.status_code == 200
    form = page.context["adminform"].form
    assert list(form.fields["organization"].queryset) == [organization]
    assert _store_choices(page) == {store.pk}
    assert [row.pk for row in client.get("/admin/dispensary/apiclient/").context["cl"].result_list] == []
    assert client.get(f"/admin/dispensary/apiclient/{theirs.pk}/change/").status_code == 302

    foreign = client.post(
        "/admin/dispensary/apiclient/add/",
        {
            "organization": other_store.organization.pk,
            "name": "Sneaky",
            "scopes": [],
            "stores": [other_store.pk],
        },
    )
    assert foreign.status_code == 200
    assert ApiClient.objects.filter(name="Sneaky").count() == 0
    made = client.post(
        "/admin/dispensary/apiclient/add/",
        {"organization": organization.pk, "name": "Ours", "scopes": ["stores:read"], "stores": [store.pk]},
    )
    assert made.status_code == 302
    assert ApiClient.objects.get(name="Ours").organization == organization
