"""HTML forms of the core. They shape input for the services; rules live in the services, and the
application errors they raise are put back on the form's fields."""

import datetime as dt

from django import forms
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from dispensary.errors import ApplicationError, DuplicateCustomer, InvalidPhoneNumber
from dispensary.inputs import (
    COUNT_MAX,
    QUANTITY_MAX,
    TEXT_MAX_LENGTH,
    date_of_birth_problem,
    date_validator,
    text_validator,
)
from dispensary.models import Customer, Store
from dispensary.phones import phone_display, phone_normalize


def input_rules_apply(field: forms.Field) -> None:
    """The platform's input rules (dispensary.inputs) on one form field, beyond what the field itself says:
    text without control characters and of bounded length, numbers of bounded magnitude, dates in a sane
    range. A field's own tighter bounds stay."""
    if isinstance(field, forms.CharField):
        if field.max_length is None:
            field.max_length = TEXT_MAX_LENGTH
        # Also when a form set max_length after the field was built (Django's AuthenticationForm does, without
        # a validator: a 300-character username reached django-axes' 255-character column).
        if not any(isinstance(validator, MaxLengthValidator) for validator in field.validators):
            field.validators.append(MaxLengthValidator(field.max_length))
        field.validators.append(text_validator)
    elif isinstance(field, forms.IntegerField):  # DecimalField and FloatField too
        maximum = QUANTITY_MAX if isinstance(field, forms.DecimalField | forms.FloatField) else COUNT_MAX
        if field.max_value is None:
            field.max_value = maximum
            field.validators.append(MaxValueValidator(maximum))
        if field.min_value is None:
            field.min_value = -maximum
            field.validators.append(MinValueValidator(-maximum))
    elif isinstance(field, forms.DateField | forms.DateTimeField):
        field.validators.append(date_validator)


class InputRulesMixin:
    """Every form of the platform applies dispensary.inputs to each of its fields."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            input_rules_apply(field)


class BaseForm(InputRulesMixin, forms.Form):
    pass


class BaseModelForm(InputRulesMixin, forms.ModelForm):
    pass


class DateOfBirthField(forms.DateField):
    """A date of birth: between 1900 and today. "Today" is UTC's date plus a day, so that it is never before
    the local day of any store (the ID check itself compares with the store's local day)."""

    widget = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")

    def validate(self, value):
        super().validate(value)
        if value is not None:
            problem = date_of_birth_problem(value, today=timezone.now().date() + dt.timedelta(days=1))
            if problem:
                raise forms.ValidationError(problem, code="implausible_date_of_birth")


class ApplicationErrorForm(BaseForm):
    """A form that can show a service's ApplicationError: on the fields it names, else on the form."""

    def add_application_error(self, error: ApplicationError) -> None:
        placed = set()
        for field, messages in (error.details or {}).items():
            if field in self.fields and isinstance(messages, list | tuple):
                for message in messages:
                    self.add_error(field, str(message))
                    placed.add(str(message))
        # The whole message too, unless the fields already say it: field messages alone can be terse.
        if placed != {error.message}:
            self.add_error(None, error.message)


class CustomerForm(ApplicationErrorForm):
    phone = forms.CharField(
        max_length=32,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off", "inputmode": "tel"}),
        help_text="Any format: (415) 555-0134, 415.555.0134, +1 415 555 0134.",
    )
    first_name = forms.CharField(max_length=100, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    last_name = forms.CharField(max_length=100, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    date_of_birth = DateOfBirthField(required=False)
    email = forms.EmailField(required=False, widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    customer_type = forms.ChoiceField(
        label="Customer type", choices=Customer.Type.choices, initial=Customer.Type.ADULT_USE
    )
    home_store = forms.ModelChoiceField(queryset=Store.objects.none(), required=False, empty_label="—")
    address_line1 = forms.CharField(label="Address", max_length=200, required=False)
    address_line2 = forms.CharField(label="Address line 2", max_length=200, required=False)
    city = forms.CharField(max_length=100, required=False)
    region = forms.CharField(label="State", max_length=60, required=False)
    postal_code = forms.CharField(label="ZIP code", max_length=20, required=False)
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["home_store"].queryset = Store.objects.filter(organization=organization, is_active=True)

    def clean_phone(self) -> str:
        raw = self.cleaned_data["phone"]
        try:
            return phone_normalize(raw)
        except InvalidPhoneNumber:
            raise forms.ValidationError(
                "That is not a valid phone number. Include the area code, for example (415) 555-0134."
            ) from None

    @classmethod
    def initial_for(cls, customer: Customer) -> dict:
        initial = {name: getattr(customer, name) for name in cls.base_fields if name != "home_store"}
        initial["phone"] = phone_display(customer.phone)
        initial["home_store"] = customer.home_store_id
        return initial

    def add_application_error(self, error: ApplicationError) -> None:
        """Put a service's error back on the form: on its fields when it names them, else on the form."""
        if isinstance(error, DuplicateCustomer):
            url = reverse("customer_detail", args=[error.details["customer_id"]])
            self.add_error(
                "phone",
                format_html(
                    'A customer with this phone number already exists: <a href="{}">open their record</a>.',
                    url,
                ),
            )
            return
        super().add_application_error(error)


class PhoneLookupForm(BaseForm):
    phone = forms.CharField(max_length=32)

    def clean_phone(self) -> str:
        raw = self.cleaned_data["phone"]
        try:
            return phone_normalize(raw)
        except InvalidPhoneNumber:
            raise forms.ValidationError(
                f"“{raw}” is not a phone number. Type the full number with its area code."
            ) from None
