"""The platform's input rules (dispensary.inputs) and where they apply everywhere: the form mixin, the `<id:>`
path converter and the integer `__in` lookup."""

from decimal import Decimal

import pytest
from django import forms

from dispensary.forms import BaseForm, CustomerForm
from dispensary.inputs import (
    ID_MAX,
    IdConverter,
    InputRejected,
    id_parse,
    json_parse,
    money_parse,
    quantity_parse,
    text_problem,
)
from dispensary.models import Customer
from inventory.forms import AdjustForm
from pos.forms_promotions import CouponForm
from tests.factories import CustomerFactory


@pytest.mark.parametrize(
    "raw",
    [
        "1e11",
        "100000000000",
        "1000000.001",
        "1234567890123456789012345678901234567890",
        "9" * 5000,
        "NaN",
        "Infinity",
        "-1e9",
        "1.0001",
        "1e-30",
        "",
        "abc",
        True,
    ],
)
def test_quantities_beyond_the_bounds_are_refused_in_a_sentence(raw):
    with pytest.raises(InputRejected) as refused:
        quantity_parse(raw)

    assert refused.value.message.endswith(".")
    assert len(refused.value.message) < 120


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("2.5", Decimal("2.5")), (" 1000000 ", Decimal("1000000")), ("-3", Decimal("-3")), (7, Decimal(7))],
)
def test_plausible_quantities_pass(raw, expected):
    assert quantity_parse(raw) == expected


def test_money_has_two_decimals_and_a_floor():
    assert money_parse("35.50") == Decimal("35.50")
    with pytest.raises(InputRejected):
        money_parse("35.505")
    with pytest.raises(InputRejected):
        money_parse("-1", minimum=Decimal(0))
    with pytest.raises(InputRejected):
        money_parse("1e30")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("12", 12),
        (12, 12),
        (str(ID_MAX), ID_MAX),
        (str(ID_MAX + 1), None),
        ("9" * 5000, None),
        ("0", None),
        ("-1", None),
        ("²", None),
        ("1.5", None),
        (None, None),
        (True, None),
    ],
)
def test_ids_are_digits_within_64_bits(raw, expected):
    assert id_parse(raw) == expected


def test_the_id_converter_refuses_what_no_key_holds():
    converter = IdConverter()

    assert converter.to_python("42") == 42
    with pytest.raises(ValueError):
        converter.to_python(str(2**64))


@pytest.mark.parametrize(
    ("text", "refused"),
    [
        ("ab\x00cd", True),
        ("bell\x07", True),
        ("escape\x1b[0m", True),
        ("x" * 10_001, True),
        ("tab\tand\r\nlines", False),
        ("@\n\x1e\rANSI 636014", False),  # an ID barcode's separators
        ("]C1\x1d0109", False),  # a GS1 barcode's
        ("x" * 10_000, False),
    ],
)
def test_text_rule(text, refused):
    assert (text_problem(text) is not None) is refused


def test_json_nesting_and_nul_are_refused():
    assert json_parse('{"a": [1, {"b": "c"}]}') == {"a": [1, {"b": "c"}]}
    for body in ("[" * 33 + "]" * 33, "[" * 100_000 + "]" * 100_000, '{"a": "\\u0000"}', '{"\\u0000": 1}'):
        with pytest.raises(InputRejected):
            json_parse(body)


class Everything(BaseForm):
    note = forms.CharField(required=False)
    count = forms.IntegerField(required=False)
    amount = forms.DecimalField(required=False)
    day = forms.DateField(required=False)
    at = forms.DateTimeField(required=False)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("note", "ab\x00cd"),
        ("note", "bell\x07"),
        ("note", "x" * 10_001),
        ("count", "100000000000"),
        ("amount", "1e11"),
        ("amount", "1234567890123456789012345678901234567890"),
        ("day", "9999-12-31"),
        ("day", "1800-01-01"),
        ("at", "9999-12-31T23:59"),
    ],
)
def test_every_form_field_gets_the_rules(field, value):
    form = Everything({field: value})

    assert not form.is_valid()
    assert list(form.errors) == [field]


def test_a_field_keeps_its_own_tighter_bounds():
    class Tight(BaseForm):
        code = forms.CharField(max_length=5)
        uses = forms.IntegerField(max_value=10)

    form = Tight({"code": "abcdef", "uses": "11"})

    assert not form.is_valid()
    assert set(form.errors) == {"code", "uses"}


@pytest.mark.django_db
@pytest.mark.parametrize("date_of_birth", ["2030-01-01", "1800-01-01", "9999-12-31"])
def test_the_customer_form_refuses_implausible_dates_of_birth(organization, date_of_birth):
    form = CustomerForm(
        {"phone": "4155550134", "first_name": "A", "last_name": "B", "customer_type": "adult_use",
         "date_of_birth": date_of_birth},
        organization=organization,
    )  # fmt: skip

    assert not form.is_valid()
    assert form.errors["date_of_birth"] == ["A date of birth is between 1900-01-01 and today."]


def test_an_adjustment_of_1e9_is_refused():
    form = AdjustForm({"reason": "entry_error", "quantity": "1000000000"})

    assert not form.is_valid()
    assert list(form.errors) == ["quantity"]


@pytest.mark.django_db
def test_coupon_limits_beyond_a_32_bit_count_are_refused(organization):
    form = CouponForm(
        {"code": "SPRING", "max_uses": "100000000000", "max_uses_per_customer": "1e11"},
        organization=organization,
    )

    assert not form.is_valid()
    assert {"max_uses", "max_uses_per_customer"} <= set(form.errors)


@pytest.mark.django_db
def test_integer_in_lookups_skip_numbers_no_column_holds(organization):
    customer = CustomerFactory(organization=organization)

    assert list(Customer.objects.filter(pk__in=[10**40])) == []
    assert list(Customer.objects.filter(pk__in=[10**40, customer.pk, -(10**40)])) == [customer]
    assert list(Customer.objects.filter(first_name__in=[customer.first_name])) == [customer]
