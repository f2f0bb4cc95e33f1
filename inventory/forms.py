"""HTML forms of inventory. They shape input for the services; the rules live in the services, and the
application errors they raise are put back on the forms' fields."""

from django import forms
from guardian.shortcuts import get_users_with_perms

from dispensary.errors import ApplicationError
from dispensary.forms import ApplicationErrorForm, BaseForm
from dispensary.models import Store, User
from inventory.models import InventoryCount, Package, Product, Recall, WasteRecord
from inventory.services.stock import AdjustmentReason
from inventory.services.waste import WASTE_REASONS

QUANTITY_ATTRS = {"inputmode": "decimal", "autocomplete": "off"}


class StockFilterForm(BaseForm):
    """The stock list's search and filters. Unknown values are ignored rather than rejected."""

    STATUS_CHOICES = [
        ("", "In stock (not finished)"),
        *Package.Status.choices,
        ("all", "All statuses"),
    ]

    q = forms.CharField(required=False, label="Search")
    category = forms.ChoiceField(required=False, choices=[("", "All categories"), *Product.Category.choices])
    location = forms.ChoiceField(required=False, choices=[("", "All locations"), *Package.Location.choices])
    status = forms.ChoiceField(required=False, choices=STATUS_CHOICES)
    low = forms.BooleanField(required=False, label="Low stock")
    expiring = forms.BooleanField(required=False, label="Expiring within 30 days")

    def filters(self) -> dict:
        if not self.is_valid():
            valid = {}
            for name in self.fields:
                if name not in self.errors and name in self.cleaned_data:
                    valid[name] = self.cleaned_data[name]
            return valid
        return dict(self.cleaned_data)


class AdjustForm(ApplicationErrorForm):
    reason = forms.ChoiceField(choices=[("", "Choose a reason"), *AdjustmentReason.CHOICES])
    quantity = forms.DecimalField(
        label="Change (signed)",
        max_digits=14,
        decimal_places=3,
        help_text="Negative takes stock out, positive adds it: -1, 2.5.",
        widget=forms.TextInput(attrs=QUANTITY_ATTRS),
    )
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def clean_quantity(self):
        quantity = self.cleaned_data["quantity"]
        if quantity == 0:
            raise forms.ValidationError("An adjustment changes the quantity by a non-zero amount.")
        return quantity


def store_staff(store: Store, *, exclude: User | None = None):
    """Active staff who may work at the store: the people who can witness a destruction there."""
    users = get_users_with_perms(
        store, only_with_perms_in=["access_store"], with_group_users=False, with_superusers=False
    )
    users = users.filter(is_active=True, organization_id=store.organization_id).order_by(
        "first_name", "last_name", "username"
    )
    if exclude is not None and exclude.pk:
        users = users.exclude(pk=exclude.pk)
    return users


class WitnessChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        full_name = obj.get_full_name()
        return f"{full_name} ({obj.get_username()})" if full_name else obj.get_username()


class WasteForm(ApplicationErrorForm):
    reason = forms.ChoiceField()
    quantity = forms.DecimalField(
        max_digits=14,
        decimal_places=3,
        min_value=0.001,
        widget=forms.TextInput(attrs=QUANTITY_ATTRS),
    )
    method = forms.ChoiceField(
        required=False, label="Destruction method", choices=[("", "—"), *WasteRecord.Method.choices]
    )
    waste_weight_g = forms.DecimalField(
        required=False,
        label="Waste weight (g)",
        max_digits=12,
        decimal_places=3,
        help_text="Weight of the rendered waste, with the mixed-in material.",
        widget=forms.TextInput(attrs=QUANTITY_ATTRS),
    )
    witness = WitnessChoiceField(queryset=User.objects.none(), required=False, empty_label="—")
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, store: Store, actor: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].choices = [("", "Choose a reason")] + [
            (code, label) for code, label in AdjustmentReason.CHOICES if code in WASTE_REASONS
        ]
        self.fields["witness"].queryset = store_staff(store, exclude=actor)
        self.fields["witness"].help_text = "Destruction only: a second staff member of this store."


class MoveForm(ApplicationErrorForm):
    location = forms.ChoiceField(choices=Package.Location.choices)
    detail = forms.CharField(
        required=False, max_length=120, label="Shelf, safe or vehicle", widget=forms.TextInput()
    )
    note = forms.CharField(required=False, max_length=500)


class ManifestUploadForm(ApplicationErrorForm):
    manifest = forms.FileField(
        label="Manifest CSV", widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"})
    )


class ScanForm(ApplicationErrorForm):
    tag = forms.CharField(
        label="Package tag",
        max_length=64,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )
    quantity = forms.CharField(
        required=False,
        max_length=20,
        label="Counted quantity",
        widget=forms.TextInput(attrs=QUANTITY_ATTRS),
    )


class CountOpenForm(ApplicationErrorForm):
    scope = forms.ChoiceField(choices=InventoryCount.Scope.choices, initial=InventoryCount.Scope.FULL)
    category = forms.ChoiceField(required=False, choices=[("", "—"), *Product.Category.choices])
    location = forms.ChoiceField(required=False, choices=[("", "—"), *Package.Location.choices])

    def scope_value(self) -> str:
        scope = self.cleaned_data["scope"]
        if scope == InventoryCount.Scope.CATEGORY:
            return self.cleaned_data.get("category", "")
        if scope == InventoryCount.Scope.LOCATION:
            return self.cleaned_data.get("location", "")
        return ""

    def add_application_error(self, error: ApplicationError) -> None:
        # The service names the scope value; here it is the category or location field.
        if "scope_value" in (error.details or {}):
            field = (
                "category" if self.cleaned_data.get("scope") == InventoryCount.Scope.CATEGORY else "location"
            )
            self.add_error(field, error.message)
            return
        super().add_application_error(error)


class CountEntryForm(ApplicationErrorForm):
    tag = forms.CharField(
        label="Package tag",
        max_length=64,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )
    quantity = forms.CharField(
        label="Counted quantity", max_length=20, widget=forms.TextInput(attrs=QUANTITY_ATTRS)
    )


class RecallOpenForm(ApplicationErrorForm):
    criterion = forms.ChoiceField(choices=Recall.Criterion.choices, label="Recall by")
    value = forms.CharField(
        max_length=200,
        label="Value",
        help_text="The tag, harvest batch, product SKU or supplier licence number.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
