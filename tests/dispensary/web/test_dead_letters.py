"""Dead letters: only the organization's, retried by POST with htmx, another organization's is a 404."""

import pytest

from dispensary.models import AuditRecord, EventDelivery


def test_anonymous_is_sent_to_login(client, db):
    response = client.get("/outbox/dead-letters/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.parametrize("role", ["budtender", "driver", "inventory_manager"])
def test_roles_without_the_permission_get_403(client, login, staff, role):
    login(staff(role))
    assert client.get("/outbox/dead-letters/").status_code == 403


def test_lists_only_the_organizations_dead_letters(
    client, login, staff, organization, other_store, dead_letter
):
    mine = dead_letter(organization, error="httpx.ConnectError: refused")
    theirs = dead_letter(other_store.organization, handler="someone.elses.handler")
    response = login(staff("manager")).get("/outbox/dead-letters/")
    assert response.status_code == 200
    assert list(response.context["page"].object_list) == [mine]
    content = response.content.decode()
    assert "httpx.ConnectError: refused" in content
    assert "sale.completed" in content
    assert theirs.handler not in content


def test_empty_state(client, login, staff):
    response = login(staff("manager")).get("/outbox/dead-letters/")
    assert b"No dead letters" in response.content


def test_compliance_officer_sees_but_cannot_retry(client, login, staff, organization, dead_letter):
    delivery = dead_letter(organization)
    login(staff("compliance_officer"))
    page = client.get("/outbox/dead-letters/")
    assert page.status_code == 200
    assert b">Retry<" not in page.content
    assert client.post(f"/outbox/dead-letters/{delivery.pk}/retry/").status_code == 403
    delivery.refresh_from_db()
    assert delivery.status == EventDelivery.Status.DEAD


def test_retry_with_htmx_swaps_the_row(client, login, staff, organization, dead_letter):
    delivery = dead_letter(organization)
    manager = staff("manager")
    login(manager)
    response = client.post(f"/outbox/dead-letters/{delivery.pk}/retry/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    content = response.content.decode()
    assert content.strip().startswith(f'<tr id="delivery-{delivery.pk}">')
    assert "Queued again" in content
    delivery.refresh_from_db()
    assert delivery.status == EventDelivery.Status.PENDING
    assert delivery.attempts == 0
    record = AuditRecord.objects.get(action="event_delivery.retried")
    assert record.actor == manager
    assert record.object_id == str(delivery.pk)


def test_retry_without_javascript_redirects_with_a_message(client, login, staff, organization, dead_letter):
    delivery = dead_letter(organization)
    login(staff("manager"))
    response = client.post(f"/outbox/dead-letters/{delivery.pk}/retry/", follow=True)
    assert response.redirect_chain == [("/outbox/dead-letters/", 302)]
    assert b"queued for delivery again" in response.content


def test_retry_of_a_delivery_that_is_no_longer_dead_says_so(client, login, staff, organization, dead_letter):
    delivery = dead_letter(organization)
    EventDelivery.objects.filter(pk=delivery.pk).update(status=EventDelivery.Status.SUCCEEDED)
    login(staff("manager"))
    response = client.post(f"/outbox/dead-letters/{delivery.pk}/retry/", HTTP_HX_REQUEST="true")
    assert b"Only dead letters can be retried." in response.content
    assert not AuditRecord.objects.filter(action="event_delivery.retried").exists()


def test_retry_of_another_organizations_delivery_is_404(client, login, staff, other_store, dead_letter):
    theirs = dead_letter(other_store.organization)
    login(staff("manager"))
    response = client.post(f"/outbox/dead-letters/{theirs.pk}/retry/")
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == EventDelivery.Status.DEAD


def test_retry_needs_post(client, login, staff, organization, dead_letter):
    delivery = dead_letter(organization)
    login(staff("manager"))
    assert client.get(f"/outbox/dead-letters/{delivery.pk}/retry/").status_code == 405


def test_query_count_is_bounded(
    client, login, staff, organization, dead_letter, django_assert_max_num_queries
):
    for _ in range(30):
        dead_letter(organization)
    login(staff("manager"))
    with django_assert_max_num_queries(9):
        response = client.get("/outbox/dead-letters/")
    assert len(response.context["page"].object_list) == 30
