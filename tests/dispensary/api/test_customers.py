import pytest

from dispensary.models import AuditRecord, Customer, OutboxEvent
from tests.factories import CustomerFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db


def viewed(customer) -> list[tuple[str, str, dict]]:
    return list(
        AuditRecord.objects.filter(action="customer.viewed", object_id=str(customer.pk))
        .order_by("id")
        .values_list("actor_label", "object_type", "after")
    )


# --- list -----------------------------------------------------------------------------------------------


def test_list_is_scoped_to_the_callers_organization(make_api_client, customer, foreign_customer):
    _, caller = make_api_client(scopes=["customers:read"])

    response = caller.get("/api/v1/customers")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    assert body["next"] is None
    assert body["previous"] is None
    [row] = body["results"]
    assert row["id"] == customer.pk
    assert row["phone"] == "+14155550134"
    assert row["first_name"] == "Ada"
    assert row["customer_type"] == "adult_use"
    assert row["home_store"] == customer.home_store_id


def test_list_and_search_log_a_read_of_each_customer_shown(make_api_client, customer, organization, store):
    grace = CustomerFactory(
        organization=organization, first_name="Grace", last_name="Hopper", home_store=store
    )
    client, caller = make_api_client(scopes=["customers:read"])

    caller.get("/api/v1/customers", {"page_size": 1})
    caller.get("/api/v1/customers", {"search": "grace"})

    reads = AuditRecord.objects.filter(action="customer.viewed").order_by("id")
    assert [(read.object_id, read.after, read.actor_label) for read in reads] == [
        (str(grace.pk), {"via": "api:list"}, f"api-client:Menu sync ({client.key_prefix})"),
        (
            str(grace.pk),
            {"via": "api:list", "search": "grace"},
            f"api-client:Menu sync ({client.key_prefix})",
        ),
    ]
    assert {read.organization_id for read in reads} == {organization.pk}


def test_an_empty_list_logs_nothing(make_api_client):
    _, caller = make_api_client(scopes=["customers:read"])

    assert caller.get("/api/v1/customers", {"search": "nobody"}).json()["count"] == 0
    assert AuditRecord.objects.filter(action="customer.viewed").count() == 0


def test_an_api_client_sees_only_the_customers_of_its_stores(make_api_client, customer, organization, store):
    elsewhere = StoreFactory(organization=organization)
    theirs = CustomerFactory(organization=organization, phone="+14155550177", home_store=elsewhere)
    homeless = CustomerFactory(organization=organization, phone="+14155550178", home_store=None)
    _, caller = make_api_client(scopes=["customers:read", "customers:write"], stores=[store])

    assert [row["id"] for row in caller.get("/api/v1/customers").json()["results"]] == [customer.pk]
    for hidden in (theirs, homeless):
        assert caller.get(f"/api/v1/customers/{hidden.pk}").status_code == 404
        assert caller.get("/api/v1/customers/lookup", {"phone": hidden.phone}).status_code == 404
        assert caller.get(f"/api/v1/customers/{hidden.pk}/purchases").status_code == 404
        assert caller.get(f"/api/v1/customers/{hidden.pk}/loyalty").status_code == 404
        assert caller.patch(f"/api/v1/customers/{hidden.pk}", {"notes": "x"}).status_code == 404
    # Nor can it move one of its customers to a store it does not reach.
    moved = caller.patch(f"/api/v1/customers/{customer.pk}", {"home_store": elsewhere.pk})
    assert moved.status_code == 400
    assert caller.patch(f"/api/v1/customers/{customer.pk}", {"home_store": None}).status_code == 400
    customer.refresh_from_db()
    assert customer.home_store == store

    _, both = make_api_client(scopes=["customers:read"], stores=[store, elsewhere])
    assert {row["id"] for row in both.get("/api/v1/customers").json()["results"]} == {customer.pk, theirs.pk}


def test_staff_see_every_customer_of_the_organization(staff_caller, manager, customer, organization):
    homeless = CustomerFactory(organization=organization, home_store=None)

    rows = staff_caller(manager).get("/api/v1/customers").json()["results"]

    assert {row["id"] for row in rows} == {customer.pk, homeless.pk}


def test_a_customer_created_by_an_api_client_belongs_to_its_store(make_api_client, organization, store):
    _, caller = make_api_client(scopes=["customers:write", "customers:read"], stores=[store])

    response = caller.post(
        "/api/v1/customers", {"phone": "4155550160", "first_name": "New", "last_name": "Online"}
    )

    assert response.status_code == 201
    assert response.json()["home_store"] == store.pk
    assert caller.get(f"/api/v1/customers/{response.json()['id']}").status_code == 200

    elsewhere = StoreFactory(organization=organization)
    _, two_stores = make_api_client(scopes=["customers:write"], stores=[store, elsewhere])
    refused = two_stores.post(
        "/api/v1/customers", {"phone": "4155550161", "first_name": "No", "last_name": "Home"}
    )
    assert refused.status_code == 400
    assert refused.json()["details"] == {"home_store": ["This field is required."]}
    _, one_store = make_api_client(scopes=["customers:write"], stores=[store])
    outside = one_store.post(
        "/api/v1/customers",
        {"phone": "4155550162", "first_name": "No", "last_name": "Home", "home_store": elsewhere.pk},
    )
    assert outside.status_code == 400
    assert outside.json()["details"]["home_store"]


@pytest.mark.parametrize("search", ["Love", "love", "ada", "(415) 555-0134", "+1 415 555 0134", "4155550134"])
def test_search_by_name_or_phone(search, make_api_client, customer, organization):
    CustomerFactory(organization=organization, phone="+14155550199", first_name="Grace", last_name="Hopper")
    _, caller = make_api_client(scopes=["customers:read"])

    response = caller.get("/api/v1/customers", {"search": search})

    assert [row["id"] for row in response.json()["results"]] == [customer.pk]


def test_filter_on_customer_type(make_api_client, organization, store):
    CustomerFactory(organization=organization, customer_type="adult_use", home_store=store)
    patient = CustomerFactory(organization=organization, customer_type="medical", home_store=store)
    _, caller = make_api_client(scopes=["customers:read"])

    response = caller.get("/api/v1/customers", {"customer_type": "medical"})

    assert [row["id"] for row in response.json()["results"]] == [patient.pk]


def test_filter_on_an_unknown_customer_type_is_a_400(make_api_client):
    _, caller = make_api_client(scopes=["customers:read"])

    response = caller.get("/api/v1/customers", {"customer_type": "tourist"})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert list(response.json()["details"]) == ["customer_type"]


def test_pagination(make_api_client, organization, store):
    for number in range(7):
        CustomerFactory(organization=organization, last_name=f"Name{number}", home_store=store)
    _, caller = make_api_client(scopes=["customers:read"])

    first = caller.get("/api/v1/customers", {"page_size": 3}).json()
    last = caller.get("/api/v1/customers", {"page_size": 3, "page": 3}).json()
    beyond = caller.get("/api/v1/customers", {"page_size": 3, "page": 4})

    assert first["count"] == 7
    assert [row["last_name"] for row in first["results"]] == ["Name0", "Name1", "Name2"]
    assert first["next"] == "http://testserver/api/v1/customers?page=2&page_size=3"
    assert [row["last_name"] for row in last["results"]] == ["Name6"]
    assert last["next"] is None
    assert beyond.status_code == 404
    assert beyond.json() == {"code": "not_found", "message": "Invalid page.", "details": {}}


@pytest.mark.parametrize("rows", [5, 50])
def test_list_query_count_does_not_grow_with_rows(
    rows, make_api_client, organization, store, django_assert_num_queries
):
    for _ in range(rows):
        CustomerFactory(organization=organization, home_store=store)
    _, caller = make_api_client(scopes=["customers:read"])
    caller.get("/api/v1/customers")  # the first call also records last_used_at; measure a steady call

    # API client by prefix, count, one page, the read log (one insert): the same four for 5 rows or 50.
    with django_assert_num_queries(4):
        response = caller.get("/api/v1/customers")

    assert response.json()["count"] == rows


def test_list_query_count_for_staff_is_bounded(
    manager, organization, staff_caller, django_assert_max_num_queries
):
    for _ in range(50):
        CustomerFactory(organization=organization)
    caller = staff_caller(manager)
    caller.get("/api/v1/customers")

    with django_assert_max_num_queries(6):
        assert caller.get("/api/v1/customers").status_code == 200


# --- detail and lookup ----------------------------------------------------------------------------------


def test_detail_returns_the_customer_and_logs_the_read(make_api_client, customer):
    client, caller = make_api_client(scopes=["customers:read"])

    response = caller.get(f"/api/v1/customers/{customer.pk}")

    assert response.status_code == 200
    assert response.json()["id"] == customer.pk
    assert response.json()["last_name"] == "Lovelace"
    assert viewed(customer) == [
        (f"api-client:Menu sync ({client.key_prefix})", "dispensary.customer", {"via": "api"})
    ]
    record = AuditRecord.objects.get(action="customer.viewed")
    assert record.organization_id == customer.organization_id
    assert record.actor is None


def test_detail_read_by_staff_names_the_staff_member(budtender, customer, staff_caller):
    staff_caller(budtender).get(f"/api/v1/customers/{customer.pk}")

    record = AuditRecord.objects.get(action="customer.viewed")
    assert record.actor == budtender
    assert record.actor_label == budtender.username


def test_customer_of_another_organization_is_not_found_and_not_logged(make_api_client, foreign_customer):
    _, caller = make_api_client()

    detail = caller.get(f"/api/v1/customers/{foreign_customer.pk}")
    update = caller.patch(f"/api/v1/customers/{foreign_customer.pk}", {"first_name": "Mallory"})

    assert detail.status_code == 404
    assert detail.json() == {"code": "not_found", "message": "Not found.", "details": {}}
    assert update.status_code == 404
    assert update.json() == detail.json()
    foreign_customer.refresh_from_db()
    assert foreign_customer.first_name == "Eve"
    assert AuditRecord.objects.filter(object_type="dispensary.customer").count() == 0


def test_missing_customer_is_the_same_404_as_a_foreign_one(make_api_client, foreign_customer):
    _, caller = make_api_client()

    missing = caller.get("/api/v1/customers/999999")

    assert missing.status_code == 404
    assert missing.json() == caller.get(f"/api/v1/customers/{foreign_customer.pk}").json()


@pytest.mark.parametrize(
    "spelling", ["(415) 555-0134", "+14155550134", "415.555.0134", "+1 415 555 0134", "1-415-555-0134"]
)
def test_lookup_by_phone_in_any_spelling(spelling, make_api_client, customer, foreign_customer):
    _, caller = make_api_client(scopes=["customers:read"])

    response = caller.get("/api/v1/customers/lookup", {"phone": spelling})

    assert response.status_code == 200
    assert response.json()["id"] == customer.pk
    assert len(viewed(customer)) == 1
    assert viewed(foreign_customer) == []


def test_lookup_of_an_unknown_number_is_a_404(make_api_client, customer):
    _, caller = make_api_client(scopes=["customers:read"])

    response = caller.get("/api/v1/customers/lookup", {"phone": "(415) 555-0199"})

    assert response.status_code == 404
    assert response.json() == {
        "code": "not_found",
        "message": "No customer has this phone number.",
        "details": {},
    }
    assert AuditRecord.objects.filter(object_type="dispensary.customer").count() == 0


def test_lookup_does_not_find_another_organizations_customer(make_api_client, foreign_customer):
    _, caller = make_api_client(scopes=["customers:read"])

    response = caller.get("/api/v1/customers/lookup", {"phone": "+14155550134"})

    assert response.status_code == 404


def test_lookup_of_something_that_is_no_number_is_invalid_phone(make_api_client):
    _, caller = make_api_client(scopes=["customers:read"])

    response = caller.get("/api/v1/customers/lookup", {"phone": "not a number"})

    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid_phone",
        "message": "'not a number' is not a valid phone number.",
        "details": {"phone": ["'not a number' is not a valid phone number."]},
    }


def test_lookup_without_a_phone_is_invalid(make_api_client):
    _, caller = make_api_client(scopes=["customers:read"])

    response = caller.get("/api/v1/customers/lookup")

    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid",
        "message": "phone: This field is required.",
        "details": {"phone": ["This field is required."]},
    }


# --- create ---------------------------------------------------------------------------------------------


def test_create_normalises_the_phone_and_audits(make_api_client, organization, store):
    client, caller = make_api_client(scopes=["customers:write"])

    response = caller.post(
        "/api/v1/customers",
        {
            "phone": "(415) 555-0177",
            "first_name": " Grace ",
            "last_name": "Hopper",
            "email": "Grace@Example.COM",
            "customer_type": "medical",
            "home_store": store.pk,
        },
    )

    assert response.status_code == 201
    customer = Customer.objects.get()
    assert response.json()["id"] == customer.pk
    assert response.json()["phone"] == "+14155550177"
    assert (customer.organization, customer.first_name, customer.email) == (
        organization,
        "Grace",
        "grace@example.com",
    )
    assert customer.home_store == store
    record = AuditRecord.objects.get(action="customer.created")
    assert record.object_id == str(customer.pk)
    assert record.actor_label == f"api-client:Menu sync ({client.key_prefix})"
    assert OutboxEvent.objects.filter(name="customer.created").count() == 1


def test_create_with_a_duplicate_phone_is_a_409_naming_the_customer(make_api_client, customer):
    _, caller = make_api_client(scopes=["customers:write"])

    response = caller.post(
        "/api/v1/customers", {"phone": "415-555-0134", "first_name": "Ada", "last_name": "Again"}
    )

    assert response.status_code == 409
    assert response.json() == {
        "code": "duplicate_customer",
        "message": "A customer with phone +14155550134 already exists.",
        "details": {"phone": "+14155550134", "customer_id": customer.pk},
    }
    assert Customer.objects.count() == 1
    assert AuditRecord.objects.filter(object_type="dispensary.customer").count() == 0
    assert OutboxEvent.objects.count() == 0


def test_the_same_phone_in_another_organization_is_no_duplicate(make_api_client, foreign_customer):
    _, caller = make_api_client(scopes=["customers:write"])

    response = caller.post(
        "/api/v1/customers", {"phone": "+14155550134", "first_name": "Ada", "last_name": "L"}
    )

    assert response.status_code == 201
    assert Customer.objects.count() == 2


def test_create_with_an_invalid_phone_is_a_400(make_api_client):
    _, caller = make_api_client(scopes=["customers:write"])

    response = caller.post("/api/v1/customers", {"phone": "555", "first_name": "A", "last_name": "B"})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_phone"
    assert response.json()["details"] == {"phone": ["'555' is not a valid phone number."]}
    assert Customer.objects.count() == 0
    assert AuditRecord.objects.filter(object_type="dispensary.customer").count() == 0


def test_create_with_missing_fields_lists_them(make_api_client):
    _, caller = make_api_client(scopes=["customers:write"])

    response = caller.post("/api/v1/customers", {"phone": "+14155550177"})

    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid",
        "message": "first_name: This field is required.",
        "details": {"first_name": ["This field is required."], "last_name": ["This field is required."]},
    }
    assert Customer.objects.count() == 0


def test_home_store_of_another_organization_is_an_unknown_store(make_api_client, foreign_store):
    _, caller = make_api_client(scopes=["customers:write"])

    response = caller.post(
        "/api/v1/customers",
        {"phone": "+14155550177", "first_name": "A", "last_name": "B", "home_store": foreign_store.pk},
    )

    assert response.status_code == 400
    assert response.json()["details"] == {
        "home_store": [f'Invalid pk "{foreign_store.pk}" - object does not exist.']
    }
    assert Customer.objects.count() == 0


# --- update ---------------------------------------------------------------------------------------------


def test_update_changes_only_the_given_fields_and_audits_them(budtender, customer, staff_caller):
    response = staff_caller(budtender).patch(
        f"/api/v1/customers/{customer.pk}", {"phone": "(415) 555-0100", "notes": "Prefers edibles"}
    )

    assert response.status_code == 200
    assert response.json()["phone"] == "+14155550100"
    assert response.json()["first_name"] == "Ada"
    customer.refresh_from_db()
    assert (customer.phone, customer.notes, customer.last_name) == (
        "+14155550100",
        "Prefers edibles",
        "Lovelace",
    )
    record = AuditRecord.objects.get(action="customer.updated")
    assert record.actor == budtender
    assert record.before == {"notes": "", "phone": "+14155550134"}
    assert record.after == {"notes": "Prefers edibles", "phone": "+14155550100"}
    assert viewed(customer) == []


def test_update_that_changes_nothing_logs_a_read(budtender, customer, staff_caller):
    response = staff_caller(budtender).patch(f"/api/v1/customers/{customer.pk}", {})

    assert response.status_code == 200
    assert AuditRecord.objects.filter(action="customer.updated").count() == 0
    assert viewed(customer) == [(budtender.username, "dispensary.customer", {"via": "api"})]


def test_update_to_another_customers_phone_is_a_409(make_api_client, customer, organization, store):
    other = CustomerFactory(organization=organization, phone="+14155550199", home_store=store)
    _, caller = make_api_client(scopes=["customers:write"])

    response = caller.patch(f"/api/v1/customers/{other.pk}", {"phone": "+14155550134"})

    assert response.status_code == 409
    assert response.json()["details"] == {"phone": "+14155550134", "customer_id": customer.pk}
    other.refresh_from_db()
    assert other.phone == "+14155550199"
    assert AuditRecord.objects.filter(object_type="dispensary.customer").count() == 0


def test_update_with_an_invalid_value_writes_nothing(make_api_client, customer):
    _, caller = make_api_client(scopes=["customers:write"])

    response = caller.patch(
        f"/api/v1/customers/{customer.pk}", {"customer_type": "tourist", "first_name": "X"}
    )

    assert response.status_code == 400
    assert response.json()["details"] == {"customer_type": ['"tourist" is not a valid choice.']}
    customer.refresh_from_db()
    assert customer.first_name == "Ada"
    assert AuditRecord.objects.filter(object_type="dispensary.customer").count() == 0


# --- permission matrix ----------------------------------------------------------------------------------

# (role, list/detail/lookup, create, update) per dispensary.roles
ROLE_MATRIX = [
    ("owner", 200, 201, 200),
    ("manager", 200, 201, 200),
    ("budtender", 200, 201, 200),
    ("compliance_officer", 200, 403, 403),
    ("inventory_manager", 403, 403, 403),
    ("driver", 403, 403, 403),
]


@pytest.mark.parametrize(("role", "read", "create", "update"), ROLE_MATRIX)
def test_staff_permission_matrix(role, read, create, update, organization, store, customer, staff_caller):
    caller = staff_caller(UserFactory(organization=organization, roles=[role], stores=[store]))

    assert caller.get("/api/v1/customers").status_code == read
    assert caller.get(f"/api/v1/customers/{customer.pk}").status_code == read
    assert caller.get("/api/v1/customers/lookup", {"phone": customer.phone}).status_code == read
    created = caller.post("/api/v1/customers", {"phone": "+14155550177", "first_name": "N", "last_name": "C"})
    assert created.status_code == create
    assert caller.patch(f"/api/v1/customers/{customer.pk}", {"notes": role}).status_code == update
    assert Customer.objects.filter(phone="+14155550177").exists() is (create == 201)
    customer.refresh_from_db()
    assert customer.notes == (role if update == 200 else "")


# (scopes, read, write)
SCOPE_MATRIX = [
    (["customers:read", "customers:write"], 200, 201),
    (["customers:read"], 200, 403),
    (["customers:write"], 403, 201),
    (["stores:read"], 403, 403),
    ([], 403, 403),
]


@pytest.mark.parametrize(("scopes", "read", "write"), SCOPE_MATRIX)
def test_api_client_scope_matrix(scopes, read, write, make_api_client, customer):
    _, caller = make_api_client(scopes=scopes)

    assert caller.get("/api/v1/customers").status_code == read
    assert caller.get(f"/api/v1/customers/{customer.pk}").status_code == read
    assert caller.get("/api/v1/customers/lookup", {"phone": customer.phone}).status_code == read
    created = caller.post("/api/v1/customers", {"phone": "+14155550177", "first_name": "N", "last_name": "C"})
    assert created.status_code == write
    updated = caller.patch(f"/api/v1/customers/{customer.pk}", {"notes": "x"})
    assert updated.status_code == (200 if write == 201 else 403)
    assert Customer.objects.count() == (2 if write == 201 else 1)
    if read == 403:
        assert AuditRecord.objects.filter(action="customer.viewed").count() == 0


def test_staff_of_another_store_of_the_organization_sees_its_customers(
    organization, other_store, customer, staff_caller
):
    # Customers belong to the organization, not to a store: the checkout of every store looks them up.
    colleague = UserFactory(organization=organization, roles=["budtender"], stores=[other_store])

    assert staff_caller(colleague).get(f"/api/v1/customers/{customer.pk}").status_code == 200


def test_staff_of_another_organization_sees_none_of_them(foreign_manager, customer, staff_caller):
    caller = staff_caller(foreign_manager)

    assert caller.get("/api/v1/customers").json()["count"] == 0
    assert caller.get(f"/api/v1/customers/{customer.pk}").status_code == 404
    assert caller.get("/api/v1/customers/lookup", {"phone": customer.phone}).status_code == 404
    assert caller.patch(f"/api/v1/customers/{customer.pk}", {"notes": "x"}).status_code == 404
    assert AuditRecord.objects.filter(object_type="dispensary.customer").count() == 0


def test_api_client_of_another_organization_sees_none_of_them(
    make_api_client, other_organization, foreign_store, customer
):
    _, caller = make_api_client(organization=other_organization, stores=[foreign_store])

    assert caller.get("/api/v1/customers").json()["count"] == 0
    assert caller.get(f"/api/v1/customers/{customer.pk}").status_code == 404


def test_anonymous_gets_401_on_every_customer_endpoint(anonymous, customer):
    calls = [
        anonymous.get("/api/v1/customers"),
        anonymous.get(f"/api/v1/customers/{customer.pk}"),
        anonymous.get("/api/v1/customers/lookup", {"phone": customer.phone}),
        anonymous.post("/api/v1/customers", {"phone": "+14155550177", "first_name": "N", "last_name": "C"}),
        anonymous.patch(f"/api/v1/customers/{customer.pk}", {"notes": "x"}),
    ]

    assert [response.status_code for response in calls] == [401] * 5
    assert {response.json()["code"] for response in calls} == {"not_authenticated"}
    assert Customer.objects.count() == 1
    assert AuditRecord.objects.filter(object_type="dispensary.customer").count() == 0


def test_search_with_a_nul_character_is_refused_before_the_database(make_api_client):
    _, caller = make_api_client(scopes=["customers:read"])

    response = caller.get("/api/v1/customers", {"search": "a\x00b"})

    assert response.status_code == 400
    assert response.json()["details"] == {
        "search": ["The text contains a NUL character, which is not allowed."]
    }
