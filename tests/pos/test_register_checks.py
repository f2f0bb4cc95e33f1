"""Who is buying, as the register tells the limit engine and the promotions: residency (Illinois' visitor
limits), a caregiver buying for their patient, a physician's recommendation's amounts, and the discounts chosen
at the counter with the check each needs (the ID's age for seniors, the staff member for employees, the record
or a stated check for veterans), and loyalty rewards. Each refusal leaves the cart as it was."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.utils import timezone

from compliance.identity import (
    CaregiverNotLinked,
    IdRefused,
    caregiver_link,
    id_verify,
    patient_registration_set,
    recommendation_add,
)
from dispensary.errors import ValidationFailed
from dispensary.events import OutboxEvent
from pos.errors import CouponInvalid, PurchaseLimitExceeded, SaleNotAllowed
from pos.models import Cart, LoyaltyAccount, LoyaltyProgram, PointsEntry, Promotion, Reward
from pos.selectors.carts import cart_view
from pos.selectors.quote import QuoteLineInput
from pos.services import TenderInput
from pos.services.carts import (
    cart_caregiver_buy_for,
    cart_caregiver_end,
    cart_complete,
    cart_customer_set,
    cart_employee_set,
    cart_id_verify,
    cart_line_add,
    cart_open,
    cart_promotion_choose,
    cart_reward_choose,
    cart_veteran_check,
)
from pos.services.pickup import pickup_order_create
from tests.factories import CustomerFactory, OrganizationFactory, StoreFactory, UserFactory
from tests.inventory.factories import ProductFactory, ProductLimitAmountFactory, receive
from tests.pos.factories import register_with_drawer
from tests.pos.sale_helpers import checkout, priced

pytestmark = pytest.mark.django_db

BORN_1980 = dt.date(1980, 3, 4)
NOW = dt.datetime(2026, 3, 10, 19, 0, tzinfo=dt.UTC)  # 11:00 or 12:00 in the stores' zones


@pytest.fixture(autouse=True)
def _at_a_fixed_moment(clock):
    clock.move_to(NOW, tick=True)


def far_expiry() -> dt.date:
    return timezone.localdate() + dt.timedelta(days=900)


def eighth(organization, store, *, name="Eighth"):
    product = ProductFactory(organization=organization, name=name, price=D("40.00"))
    ProductLimitAmountFactory(product=product, bucket="flower_g", amount=D("3.5"))
    receive(store, product, 50)
    return product


def checked(cart, staff, *, born=BORN_1980, state=""):
    cart_id_verify(cart=cart, staff=staff, date_of_birth=born, expires_on=far_expiry(), issuing_state=state)
    return Cart.objects.get(pk=cart.pk)


def add(cart, staff, product, quantity):
    cart_line_add(cart=cart, staff=staff, product_id=product.pk, quantity=str(quantity))


def complete(cart, staff, amount="1000"):
    cart = Cart.objects.get(pk=cart.pk)
    return cart_complete(
        cart=cart, staff=staff, tenders=[TenderInput("cash", D(amount))], idempotency_key=cart.idempotency_key
    )


# --- Residency: Illinois visitors buy half ----------------------------------------------------------------------


@pytest.fixture
def illinois(organization, budtender):
    store = StoreFactory(
        organization=organization, jurisdiction="US-IL", time_zone="America/Chicago", region="IL"
    )
    budtender_in_il = UserFactory(organization=organization, roles=["budtender"], stores=[store])
    return store, register_with_drawer(store, budtender_in_il), budtender_in_il


def test_an_out_of_state_id_gets_illinois_visitor_limits_at_the_register(illinois):
    store, register, staff = illinois
    product = eighth(store.organization, store)
    visitor = cart_open(
        store=store, register=register, staff=staff, customer=CustomerFactory(organization=store.organization)
    )
    visitor = checked(visitor, staff, state="WI")
    add(visitor, staff, product, 4)  # 14 g of the visitors' 15 g
    with pytest.raises(PurchaseLimitExceeded, match="15 g per-transaction limit"):
        add(visitor, staff, product, 1)
    flower = next(usage for usage in cart_view(cart=visitor).quote.limits if usage.label == "flower")
    assert (flower.limit, flower.in_cart) == (D("15"), D("14.0"))

    resident = cart_open(
        store=store, register=register, staff=staff, customer=CustomerFactory(organization=store.organization)
    )
    resident = checked(resident, staff, state="IL")
    add(resident, staff, product, 8)  # 28 g of the residents' 30 g
    sale = complete(resident, staff)
    assert sale.lines.get().quantity == D("8")


def test_the_sale_itself_refuses_a_visitor_over_the_visitor_limit(illinois):
    """sale_complete judges residency from the ID too, whatever the screen did."""

    store, register, staff = illinois
    product = eighth(store.organization, store)
    customer = CustomerFactory(organization=store.organization)
    verification = id_verify(
        store=store,
        staff=staff,
        minimum_age=21,
        date_of_birth=BORN_1980,
        expires_on=far_expiry(),
        customer=customer,
        issuing_state="IN",
    ).verification
    with pytest.raises(PurchaseLimitExceeded, match="17.5 g of the 15 g"):
        checkout(
            store=store,
            register=register,
            staff=staff,
            customer=customer,
            customer_type="adult_use",
            lines=[QuoteLineInput(product.pk, D("5"))],
            tenders=[TenderInput("cash", D("500"))],
            idempotency_key="visitor-1",
            id_verification=verification,
        )
    assert not store.sales.exists()


def test_a_pickup_order_uses_the_customers_home_state_until_the_id_is_checked(illinois):
    store, _register, staff = illinois
    product = eighth(store.organization, store)
    visitor = CustomerFactory(organization=store.organization, region="MO")
    with pytest.raises(PurchaseLimitExceeded):
        pickup_order_create(
            store=store,
            customer=visitor,
            customer_type="adult_use",
            lines=[(product.pk, D("5"))],
            idempotency_key="pickup-visitor",
        )
    local = CustomerFactory(organization=store.organization, region="IL")
    order = pickup_order_create(
        store=store,
        customer=local,
        customer_type="adult_use",
        lines=[(product.pk, D("5"))],
        idempotency_key="pickup-local",
    )
    assert order.lines.get().quantity == D("5")


def test_a_typed_issuing_state_must_be_two_letters(store, register, budtender):
    cart = cart_open(store=store, register=register, staff=budtender)
    with pytest.raises(ValidationFailed, match="two letters"):
        cart_id_verify(
            cart=cart,
            staff=budtender,
            date_of_birth=BORN_1980,
            expires_on=far_expiry(),
            issuing_state="Illinois",
        )


# --- Caregivers buying for their patients -----------------------------------------------------------------------


@pytest.fixture
def patient_and_caregiver(store, manager):
    organization = store.organization
    patient = CustomerFactory(
        organization=organization,
        first_name="Maya",
        last_name="Young",
        date_of_birth=dt.date(2011, 1, 20),  # 15
    )
    patient_registration_set(
        customer=patient, actor=manager, card_number="P-15", state="CA", expires_on=far_expiry()
    )
    caregiver = CustomerFactory(organization=organization, first_name="Carl", last_name="Young")
    return patient, caregiver


def test_a_caregiver_buys_for_their_young_patient_and_the_state_hears_of_both(
    store, register, budtender, manager, patient_and_caregiver
):
    patient, caregiver = patient_and_caregiver
    caregiver_link(caregiver=caregiver, patient=patient, actor=manager, caregiver_card_number="CG-7")
    product = eighth(store.organization, store)
    cart = cart_open(store=store, register=register, staff=budtender, customer=caregiver)
    cart_caregiver_buy_for(cart=cart, staff=budtender, patient_id=patient.pk)
    cart = checked(Cart.objects.get(pk=cart.pk), budtender)  # the caregiver's ID
    assert (cart.customer, cart.caregiver, cart.customer_type) == (patient, caregiver, "medical")
    assert cart.id_verification.customer == caregiver
    add(cart, budtender, product, 2)
    sale = complete(cart, budtender)
    assert (sale.customer, sale.caregiver, sale.customer_type) == (patient, caregiver, "medical")
    event = OutboxEvent.objects.get(name="pos.sale_completed")
    assert (event.payload["patient_license_number"], event.payload["caregiver_license_number"]) == (
        "P-15",
        "CG-7",
    )


def test_the_young_patient_alone_and_an_unlinked_caregiver_are_refused(
    store, register, budtender, manager, patient_and_caregiver
):
    patient, caregiver = patient_and_caregiver
    product = eighth(store.organization, store)
    cart = cart_open(store=store, register=register, staff=budtender, customer=caregiver)
    with pytest.raises(CaregiverNotLinked, match="is not a registered caregiver of Maya Young"):
        cart_caregiver_buy_for(cart=cart, staff=budtender, patient_id=patient.pk)
    assert Cart.objects.get(pk=cart.pk).customer == caregiver

    alone = cart_open(
        store=store, register=register, staff=budtender, customer=patient, customer_type="medical"
    )
    alone = checked(alone, budtender, born=patient.date_of_birth)
    assert not alone.id_verification.passed  # 15: medical sales need 18, or a caregiver
    cart_line_add(cart=alone, staff=budtender, product_id=product.pk, quantity="1")
    with pytest.raises(IdRefused):
        complete(alone, budtender)


def test_an_expired_caregiver_link_refuses_and_ending_it_sells_to_the_caregiver(
    store, register, budtender, manager, patient_and_caregiver
):
    patient, caregiver = patient_and_caregiver
    link = caregiver_link(caregiver=caregiver, patient=patient, actor=manager, expires_on=far_expiry())
    cart = cart_open(store=store, register=register, staff=budtender, customer=caregiver)
    cart_caregiver_buy_for(cart=cart, staff=budtender, patient_id=patient.pk)
    with pytest.raises(ValidationFailed, match="A caregiver buys medical sales"):
        cart_customer_set(cart=cart, staff=budtender, customer=patient, customer_type="adult_use")
    cart_caregiver_end(cart=cart, staff=budtender)
    cart = Cart.objects.get(pk=cart.pk)
    assert (cart.customer, cart.caregiver) == (caregiver, None)
    link.expires_on = timezone.localdate() - dt.timedelta(days=30)
    link.save(update_fields=["expires_on"])
    with pytest.raises(CaregiverNotLinked, match="caregiver registration for Maya Young expired"):
        cart_caregiver_buy_for(cart=cart, staff=budtender, patient_id=patient.pk)


# --- A physician's recommendation's amounts --------------------------------------------------------------------


def test_a_recommendations_amounts_are_enforced_for_the_patient(store, register, budtender, manager):
    patient = CustomerFactory(organization=store.organization)
    registration = patient_registration_set(
        customer=patient, actor=manager, card_number="P-1", state="CA", expires_on=far_expiry()
    )
    today = timezone.localdate()
    recommendation_add(
        registration=registration,
        actor=manager,
        physician_name="Dr Ortiz",
        issued_on=today - dt.timedelta(days=10),
        expires_on=today + dt.timedelta(days=300),
        allowed_amounts={"flower_g": "7"},
    )
    product = eighth(store.organization, store)
    quote = priced(
        store=store,
        customer=patient,
        customer_type="medical",
        lines=[QuoteLineInput(product.pk, D("3"))],
        age=40,
    )
    [violation] = quote.limit_violations
    assert violation.limit == "flower (recommendation)"
    assert "10.5 g of the 7 g daily limit: 3.5 g over" in violation.message
    cart = cart_open(
        store=store, register=register, staff=budtender, customer=patient, customer_type="medical"
    )
    cart = checked(cart, budtender)
    add(cart, budtender, product, 2)
    with pytest.raises(PurchaseLimitExceeded, match="flower \\(recommendation\\)"):
        add(cart, budtender, product, 1)
    assert complete(cart, budtender).lines.get().quantity == D("2")


def test_a_recommendation_names_its_amounts_by_bucket(manager, store):
    patient = CustomerFactory(organization=store.organization)
    registration = patient_registration_set(
        customer=patient, actor=manager, card_number="P-2", state="CA", expires_on=far_expiry()
    )
    with pytest.raises(ValidationFailed, match="Unknown amounts: flower"):
        recommendation_add(
            registration=registration,
            actor=manager,
            physician_name="Dr Ortiz",
            issued_on=dt.date(2026, 1, 1),
            expires_on=dt.date(2027, 1, 1),
            allowed_amounts={"flower": "99"},
        )
    assert not registration.recommendations.exists()


# --- Discounts chosen at the counter, with their checks ---------------------------------------------------------


def counter_promotion(store, name, group, **extra):
    return Promotion.objects.create(
        organization=store.organization,
        name=name,
        kind="percent",
        value=D("10"),
        customer_group=group,
        **extra,
    )


def test_a_senior_discount_needs_the_age_on_the_id_not_the_record(store, register, budtender):
    senior = counter_promotion(store, "Seniors 10%", "senior", senior_age=65)
    customer = CustomerFactory(organization=store.organization, date_of_birth=dt.date(1950, 1, 1))
    product = eighth(store.organization, store)
    cart = cart_open(store=store, register=register, staff=budtender, customer=customer)
    add(cart, budtender, product, 1)
    with pytest.raises(CouponInvalid, match="For seniors: the ID checked must show 65 or older."):
        cart_promotion_choose(cart=cart, staff=budtender, promotion_id=senior.pk)
    assert Cart.objects.get(pk=cart.pk).promotion_ids == []
    cart = checked(cart, budtender, born=dt.date(1950, 1, 1))
    cart_promotion_choose(cart=cart, staff=budtender, promotion_id=senior.pk)
    sale = complete(cart, budtender)
    assert sale.discount_total == D("4.00")


def test_an_employee_discount_needs_the_staff_member_buying(store, register, budtender, manager):
    staff_price = counter_promotion(store, "Staff 10%", "employee")
    product = eighth(store.organization, store)
    customer = CustomerFactory(organization=store.organization, is_employee=True)
    cart = checked(cart_open(store=store, register=register, staff=budtender, customer=customer), budtender)
    add(cart, budtender, product, 1)
    with pytest.raises(CouponInvalid, match="For staff: choose the staff member who is buying."):
        cart_promotion_choose(cart=cart, staff=budtender, promotion_id=staff_price.pk)
    with pytest.raises(SaleNotAllowed, match="a colleague sells it to you"):
        cart_employee_set(cart=cart, staff=budtender, employee_id=budtender.pk)
    stranger = UserFactory(organization=OrganizationFactory())
    with pytest.raises(ValidationFailed, match="Unknown staff member"):
        cart_employee_set(cart=cart, staff=budtender, employee_id=stranger.pk)
    cart_employee_set(cart=cart, staff=budtender, employee_id=manager.pk)
    cart_promotion_choose(cart=cart, staff=budtender, promotion_id=staff_price.pk)
    sale = complete(cart, budtender)
    assert (sale.employee, sale.discount_total) == (manager, D("4.00"))


def test_a_veteran_discount_needs_the_record_or_a_stated_check(store, register, budtender):
    veterans = counter_promotion(store, "Veterans 10%", "veteran")
    product = eighth(store.organization, store)
    customer = CustomerFactory(organization=store.organization)
    cart = checked(cart_open(store=store, register=register, staff=budtender, customer=customer), budtender)
    add(cart, budtender, product, 1)
    with pytest.raises(CouponInvalid, match="For veterans"):
        cart_promotion_choose(cart=cart, staff=budtender, promotion_id=veterans.pk)
    with pytest.raises(ValidationFailed, match="Choose the proof"):
        cart_veteran_check(cart=cart, staff=budtender, proof="trust me")
    cart_veteran_check(cart=cart, staff=budtender, proof="va_card")
    cart_promotion_choose(cart=cart, staff=budtender, promotion_id=veterans.pk)
    sale = complete(cart, budtender)
    assert (sale.veteran_proof, sale.discount_total) == ("va_card", D("4.00"))

    on_record = CustomerFactory(organization=store.organization, is_veteran=True)
    cart = checked(cart_open(store=store, register=register, staff=budtender, customer=on_record), budtender)
    add(cart, budtender, product, 1)
    cart_promotion_choose(cart=cart, staff=budtender, promotion_id=veterans.pk)
    assert cart_view(cart=Cart.objects.get(pk=cart.pk)).quote.discount_total == D("4.00")


def give(account, points, now):
    PointsEntry.objects.create(
        account=account,
        kind="earned",
        points=points,
        remaining=points,
        created_at=now,
        expires_at=now + dt.timedelta(days=90),
    )
    account.balance += points
    account.save(update_fields=["balance"])


def test_a_loyalty_reward_is_redeemed_at_the_counter_or_refused_with_the_reason(store, register, budtender):
    LoyaltyProgram.objects.create(organization=store.organization, points_expire_after_days=365)
    reward = Reward.objects.create(
        organization=store.organization, name="$5 off", points_cost=100, value=D("5")
    )
    customer = CustomerFactory(organization=store.organization)
    account = LoyaltyAccount.objects.create(customer=customer)
    now = timezone.now()
    give(account, 60, now)
    product = eighth(store.organization, store)
    cart = checked(cart_open(store=store, register=register, staff=budtender, customer=customer), budtender)
    add(cart, budtender, product, 1)
    with pytest.raises(CouponInvalid, match="\\$5 off needs 100 points; 60 are available."):
        cart_reward_choose(cart=cart, staff=budtender, reward_id=reward.pk)
    assert Cart.objects.get(pk=cart.pk).reward_ids == []
    give(account, 60, now)
    cart_reward_choose(cart=cart, staff=budtender, reward_id=reward.pk)
    sale = complete(cart, budtender)
    assert (sale.points_redeemed, sale.discount_total) == (100, D("5.00"))


def test_a_caregiver_collects_a_young_patients_pickup_order(store, manager, patient_and_caregiver):
    patient, caregiver = patient_and_caregiver
    product = eighth(store.organization, store)

    def order(key, **extra):
        return pickup_order_create(
            store=store,
            customer=patient,
            customer_type="medical",
            lines=[(product.pk, D("1"))],
            idempotency_key=key,
            **extra,
        )

    with pytest.raises(SaleNotAllowed, match="or a caregiver buying for the patient"):
        order("young-alone")
    with pytest.raises(CaregiverNotLinked):
        order("young-unlinked", caregiver=caregiver)
    caregiver_link(caregiver=caregiver, patient=patient, actor=manager)
    placed = order("young-with-caregiver", caregiver=caregiver)
    assert (placed.customer, placed.caregiver) == (patient, caregiver)
    assert list(store.pickup_orders.values_list("idempotency_key", flat=True)) == ["young-with-caregiver"]
