"""The Klaviyo settings page (`/messaging/integrations/klaviyo/`): owners and managers of the organization
(messaging.view_klaviyoaccount to see it, messaging.change_klaviyoaccount to change it) turn sync on, save the
private API key (never shown back, only its last characters), choose the lists, send a test event, start the
history's backfill and follow its progress; the page shows what was sent, what waits to be retried and what
Klaviyo refused. It shows ids (customer:12, sale:5), never customers' details."""

from dataclasses import dataclass

from django import forms
from django.contrib import messages as flash
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dispensary.errors import ValidationFailed
from dispensary.models import EventDelivery
from dispensary.views.access import staff_view
from messaging.klaviyo_services import (
    klaviyo_account_get,
    klaviyo_account_save,
    klaviyo_backfill_start,
    klaviyo_test_send,
)
from messaging.klaviyo_sync import klaviyo_paused_until
from messaging.models import KlaviyoAccount, KlaviyoBackfill, KlaviyoSyncRecord

VIEW = "messaging.view_klaviyoaccount"
CHANGE = "messaging.change_klaviyoaccount"
HANDLERS = "messaging.klaviyo_sync."
PROBLEMS_SHOWN = 10


def can_manage_klaviyo(user) -> bool:
    return user.is_superuser or user.has_perm(VIEW)


class KlaviyoForm(forms.Form):
    enabled = forms.BooleanField(label="Send profiles, consent and events to Klaviyo", required=False)
    api_key = forms.CharField(
        label="Private API key",
        required=False,
        max_length=100,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Starts with pk_. Needs the scopes events:write, profiles:write, lists:write and "
        "subscriptions:write. Leave empty to keep the saved key.",
    )
    email_list_id = forms.CharField(
        label="List for email subscribers",
        required=False,
        max_length=40,
        help_text="Klaviyo's list id (optional).",
    )
    sms_list_id = forms.CharField(
        label="List for SMS subscribers",
        required=False,
        max_length=40,
        help_text="Klaviyo's list id (optional).",
    )

    def clean_email_list_id(self):
        return _list_id(self.cleaned_data["email_list_id"])

    def clean_sms_list_id(self):
        return _list_id(self.cleaned_data["sms_list_id"])


def _list_id(value: str) -> str:
    if value and not value.isalnum():
        raise forms.ValidationError("A list id is letters and digits only, as Klaviyo shows it.")
    return value


class BackfillForm(forms.Form):
    since = forms.DateField(
        label="Sales from",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Leave empty to send every sale.",
    )


@dataclass(frozen=True)
class Problem:
    when: object
    what: str
    error: str
    next_try: object | None
    gave_up: bool


def _counts(account: KlaviyoAccount) -> list[dict]:
    if account.pk is None:
        return []
    rows = (
        KlaviyoSyncRecord.objects.filter(account=account)
        .values("kind", "metric", "status")
        .annotate(total=Count("id"))
        .order_by("kind", "metric", "status")
    )
    table: dict[tuple[str, str], dict] = {}
    labels = dict(KlaviyoSyncRecord.Kind.choices)
    for row in rows:
        key = (row["kind"], row["metric"])
        entry = table.setdefault(
            key,
            {
                "label": row["metric"] or labels.get(row["kind"], row["kind"]),
                "sent": 0,
                "skipped": 0,
                "rejected": 0,
            },
        )
        entry[row["status"]] = row["total"]
    return list(table.values())


def _problems(account: KlaviyoAccount) -> tuple[list[Problem], list[KlaviyoSyncRecord]]:
    """Deliveries waiting to be retried or given up (the outbox's record of each failed attempt), and the
    latest writes Klaviyo refused."""
    if account.pk is None:
        return [], []
    deliveries = (
        EventDelivery.objects.filter(
            event__organization_id=account.organization_id,
            handler__startswith=HANDLERS,
            attempts__gt=0,
            status__in=[EventDelivery.Status.PENDING, EventDelivery.Status.DEAD],
        )
        .select_related("event")
        .order_by("-last_attempt_at", "-id")[:PROBLEMS_SHOWN]
    )
    problems = []
    for delivery in deliveries:
        lines = (delivery.last_error or "").strip().splitlines()
        problems.append(
            Problem(
                when=delivery.last_attempt_at,
                what=f"{delivery.event.name} (attempt {delivery.attempts})",
                error=lines[-1] if lines else "",
                next_try=delivery.next_attempt_at,
                gave_up=delivery.status == EventDelivery.Status.DEAD,
            )
        )
    refused = list(
        KlaviyoSyncRecord.objects.filter(account=account, status=KlaviyoSyncRecord.Status.REJECTED)[
            :PROBLEMS_SHOWN
        ]
    )
    return problems, refused


def _backfill(account: KlaviyoAccount) -> KlaviyoBackfill | None:
    if account.pk is None:
        return None
    return KlaviyoBackfill.objects.filter(account=account).order_by("-created_at", "-id").first()


def _render(request, *, account, form, backfill_form, status=200):
    problems, refused = _problems(account)
    context = {
        "account": account,
        "form": form,
        "backfill_form": backfill_form,
        "can_change": request.user.has_perm(CHANGE),
        "counts": _counts(account),
        "problems": problems,
        "refused": refused,
        "paused_until": klaviyo_paused_until(account_id=account.pk) if account.pk else None,
        "backfill": _backfill(account),
    }
    return render(request, "messaging/klaviyo.html", context, status=status)


def _initial(account: KlaviyoAccount) -> dict:
    return {
        "enabled": account.enabled,
        "email_list_id": account.email_list_id,
        "sms_list_id": account.sms_list_id,
    }


@staff_view(VIEW)
@require_http_methods(["GET", "POST"])
def klaviyo_settings(request):
    account = klaviyo_account_get(organization=request.organization)
    if request.method == "GET":
        return _render(
            request,
            account=account,
            form=KlaviyoForm(initial=_initial(account)),
            backfill_form=BackfillForm(),
        )
    if not request.user.has_perm(CHANGE):
        raise PermissionDenied
    form = KlaviyoForm(request.POST)
    if form.is_valid():
        try:
            klaviyo_account_save(organization=request.organization, actor=request.user, **form.cleaned_data)
        except ValidationFailed as error:
            for field, messages in error.details.items():
                for message in messages:
                    form.add_error(field if field in form.fields else None, message)
        else:
            flash.success(request, "Klaviyo settings saved.")
            return redirect("messaging:klaviyo")
    return _render(request, account=account, form=form, backfill_form=BackfillForm(), status=400)


@staff_view(VIEW, CHANGE)
@require_POST
def klaviyo_test(request):
    account = klaviyo_account_get(organization=request.organization)
    if account.pk is None:
        flash.error(request, "Save the settings first.")
        return redirect("messaging:klaviyo")
    ok, message = klaviyo_test_send(account=account, actor=request.user)
    (flash.success if ok else flash.error)(request, message)
    return redirect("messaging:klaviyo")


@staff_view(VIEW, CHANGE)
@require_POST
def klaviyo_backfill(request):
    account = klaviyo_account_get(organization=request.organization)
    form = BackfillForm(request.POST)
    if account.pk is None or not account.enabled:
        flash.error(request, "Turn sync on and save a key before sending the history.")
        return redirect("messaging:klaviyo")
    if not form.is_valid():
        return _render(
            request,
            account=account,
            form=KlaviyoForm(initial=_initial(account)),
            backfill_form=form,
            status=400,
        )
    backfill = klaviyo_backfill_start(account=account, since=form.cleaned_data["since"], actor=request.user)
    flash.success(request, f"Sending the history to Klaviyo (run {backfill.pk}); the progress is below.")
    return redirect("messaging:klaviyo")


@staff_view(VIEW)
@require_GET
def klaviyo_progress(request):
    account = klaviyo_account_get(organization=request.organization)
    return render(request, "messaging/_klaviyo_backfill.html", {"backfill": _backfill(account)})
