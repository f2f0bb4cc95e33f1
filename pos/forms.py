"""HTML forms of the point of sale. They shape input for the services; the rules live in the services, and the
application errors they raise are put back on the forms' fields.

`ManagerApprovalForm` is the approval part other screens reuse: a manager of the store types their PIN, which
says who they are (a signed-in manager types their own); build a form on it and include
`pos/_approval_fields.html` in its template."""

from decimal import Decimal

from django import forms

from dispensary.forms import ApplicationErrorForm, BaseForm
from dispensary.models import Store, User
from inventory.models import Product
from inventory.services.stock import AdjustmentReason
from pos.errors import ApprovalRequired
from pos.models import DrawerMovement, Register, Sale, SaleLine, Tender
from pos.selectors.returns import registers_with_open_drawer
from pos.services.pins import manager_may_approve, manager_pin_identify, store_approvers

MONEY_ATTRS = {"inputmode": "decimal", "autocomplete": "off"}
PIN_ATTRS = {"inputmode": "numeric", "autocomplete": "off", "maxlength": "8", "pattern": "[0-9]*"}


def _money_field(label: str, *, minimum: str = "0", **kwargs) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        max_digits=10,
        decimal_places=2,
        min_value=Decimal(minimum),
        widget=forms.TextInput(attrs=MONEY_ATTRS),
        **kwargs,
    )


class RegisterChoiceField(forms.ModelChoiceField):
    """Registers by their name (their str() names the store too, a query each)."""

    def label_from_instance(self, obj) -> str:
        return obj.name


# --- Manager approval ---------------------------------------------------------------------------------------


class ManagerApprovalForm(ApplicationErrorForm):
    """A manager of `store` approves by typing their PIN, which alone says who they are; when `user` (the
    signed-in member) is a manager of the store, it is their own PIN (`manager_pin_identify`, which counts
    wrong tries). After `is_valid()`, `approver` is the manager who approved. Subclasses add their own fields
    and may override `approval_needed()`; the PIN is checked only once the rest of the form is valid, so a
    typing slip elsewhere does not count as a wrong PIN."""

    manager_pin = forms.CharField(
        required=False,
        label="Manager PIN",
        max_length=8,
        widget=forms.PasswordInput(attrs=PIN_ATTRS, render_value=False),
    )

    def __init__(self, *args, store: Store, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.store = store
        self.user = user
        self.approver: User | None = None
        self.self_approves = manager_may_approve(user, store)
        if self.self_approves:
            self.fields["manager_pin"].label = "Your manager PIN"
            self.fields[
                "manager_pin"
            ].help_text = f"You approve as {user.get_full_name() or user.get_username()}."
            self.has_approvers = hasattr(user, "manager_pin")
        else:
            self.fields[
                "manager_pin"
            ].help_text = "A manager of this store types their PIN: it says who approves."
            self.has_approvers = bool(store_approvers(store))

    def approval_needed(self) -> bool:
        return True

    def clean(self):
        cleaned = super().clean()
        if not self.approval_needed():
            return cleaned
        pin = cleaned.get("manager_pin")
        if not pin and "manager_pin" not in self.errors:
            self.add_error("manager_pin", "The manager types their PIN.")
        if self.errors:
            return cleaned
        try:
            self.approver = manager_pin_identify(store=self.store, pin=pin, actor=self.user)
        except ApprovalRequired as error:
            self.add_error("manager_pin", error.message)
        return cleaned


class ManagerPinForm(ApplicationErrorForm):
    """A manager sets or changes their own PIN, proving who they are with their password."""

    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    pin = forms.CharField(
        label="New PIN",
        max_length=8,
        help_text="4 to 8 digits. Keep it to yourself: it approves voids, refunds and paid outs.",
        widget=forms.PasswordInput(attrs={**PIN_ATTRS, "autocomplete": "new-password"}),
    )
    pin_again = forms.CharField(
        label="New PIN again",
        max_length=8,
        widget=forms.PasswordInput(attrs={**PIN_ATTRS, "autocomplete": "new-password"}),
    )

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError("That is not your password.")
        return password

    def clean(self):
        cleaned = super().clean()
        pin, again = cleaned.get("pin"), cleaned.get("pin_again")
        if pin and again and pin != again:
            self.add_error("pin_again", "The two PINs differ.")
        return cleaned


# --- Cash drawers -------------------------------------------------------------------------------------------


class DrawerOpenForm(ApplicationErrorForm):
    register = RegisterChoiceField(queryset=Register.objects.none(), empty_label=None)
    opening_amount = _money_field("Opening count", help_text="The cash in the drawer now, counted.")

    def __init__(self, *args, store: Store, registers: list[Register] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["register"].queryset = Register.objects.filter(store=store, active=True).order_by(
            "name", "id"
        )
        closed = [register for register in registers or [] if register.open_session is None]
        if closed and not self.is_bound:
            self.initial.setdefault("register", closed[0].pk)


class DrawerMovementForm(ManagerApprovalForm):
    """One kind of movement (drop, paid in, paid out); only paying out asks for a manager's approval."""

    amount = _money_field("Amount", minimum="0.01")
    reason = forms.CharField(max_length=300, required=False)

    def __init__(self, *args, kind: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind
        if kind != DrawerMovement.Kind.PAID_OUT:
            del self.fields["manager_pin"]
        if kind == DrawerMovement.Kind.DROP:
            self.fields["reason"].help_text = "Optional: “Cash drop to the safe” when left empty."
        else:
            self.fields["reason"].required = True
            self.fields["reason"].help_text = (
                "What the cash was for: change fund, supplies, a vendor paid…"
                if kind == DrawerMovement.Kind.PAID_OUT
                else "Where the cash came from: change fund top-up…"
            )

    def approval_needed(self) -> bool:
        return self.kind == DrawerMovement.Kind.PAID_OUT


class DrawerCloseForm(ApplicationErrorForm):
    counted_amount = _money_field(
        "Counted cash", help_text="Count every bill and coin in the drawer and type the total."
    )
    note = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class DrawerHistoryFilterForm(BaseForm):
    register = RegisterChoiceField(
        queryset=Register.objects.none(), required=False, empty_label="All registers"
    )

    def __init__(self, *args, store: Store, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["register"].queryset = Register.objects.filter(store=store).order_by("name", "id")


# --- Sales, voids and refunds -------------------------------------------------------------------------------


class SaleFilterForm(BaseForm):
    day = forms.DateField(
        required=False, label="Day", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    q = forms.CharField(required=False, max_length=80, label="Receipt number")


class SaleVoidForm(ManagerApprovalForm):
    """Voiding needs nothing but the manager's approval."""


REFUND_WASTE_REASONS = [
    (AdjustmentReason.DAMAGED, "Damaged or defective"),
    (AdjustmentReason.EXPIRED, "Expired"),
]
RESTOCK, WASTE = "restock", "waste"


class SaleRefundForm(ManagerApprovalForm):
    """Which lines and how much of each, where the goods go (stock or waste), how the money goes back."""

    reason = forms.CharField(max_length=500, help_text="What the customer returned it for.")
    waste_reason = forms.ChoiceField(
        choices=REFUND_WASTE_REASONS, initial=AdjustmentReason.DAMAGED, label="Waste reason"
    )
    tender_kind = forms.ChoiceField(
        choices=Tender.Kind.choices,
        initial=Tender.Kind.CASH,
        widget=forms.RadioSelect,
        label="Money back",
    )
    register = RegisterChoiceField(
        queryset=Register.objects.none(),
        required=False,
        label="Cash from the drawer of",
        empty_label="Choose a register…",
        error_messages={
            "invalid_choice": "That register's drawer is not open: choose another, or refund to the card."
        },
    )

    def __init__(self, *args, sale: Sale, lines: list[SaleLine], **kwargs):
        super().__init__(*args, **kwargs)
        self.sale = sale
        self.lines = [line for line in lines if line.remaining_quantity > 0]
        open_registers = registers_with_open_drawer(store=sale.store)
        self.fields["register"].queryset = open_registers
        self.fields["register"].help_text = "Registers whose drawer is open."
        if not self.is_bound:
            ids = [register.pk for register in open_registers]
            if sale.register_id in ids or len(ids) == 1:
                self.initial.setdefault("register", sale.register_id if sale.register_id in ids else ids[0])
        for line in self.lines:
            self.fields[f"quantity_{line.pk}"] = forms.DecimalField(
                required=False,
                label=f"Quantity to refund of {line.product.name}",
                max_digits=12,
                decimal_places=3,
                min_value=Decimal("0"),
                max_value=line.remaining_quantity,
                widget=forms.TextInput(attrs={**MONEY_ATTRS, "size": "6"}),
            )
            self.fields[f"goes_{line.pk}"] = forms.ChoiceField(
                label=f"Where {line.product.name} goes",
                choices=[(RESTOCK, "Back to stock"), (WASTE, "Waste")],
                initial=RESTOCK,
            )

    def line_rows(self):
        """For the template: each refundable line with its two fields."""
        return [(line, self[f"quantity_{line.pk}"], self[f"goes_{line.pk}"]) for line in self.lines]

    def clean(self):
        cleaned = self.cleaned_data
        chosen = []
        for line in self.lines:
            quantity = cleaned.get(f"quantity_{line.pk}")
            if not quantity:
                continue
            if line.unit == Product.SoldBy.EACH and quantity != quantity.to_integral_value():
                self.add_error(f"quantity_{line.pk}", "Whole units only.")
                continue
            chosen.append((line, quantity, cleaned.get(f"goes_{line.pk}") != WASTE))
        if not chosen and not any(name.startswith("quantity_") for name in self.errors):
            self.add_error(None, "Type the quantity to refund on at least one line.")
        if cleaned.get("tender_kind") == Tender.Kind.CASH and cleaned.get("register") is None:
            if "register" not in self.errors:
                self.add_error("register", "Choose the register whose drawer pays the cash back.")
        self.refund_lines = chosen
        return super().clean()
