"""The Alpine IQ and Springbig settings page (`/messaging/integrations/loyalty/`): each vendor's key (shown
back only as its last four characters), account ids, on/off, the last sync and its errors, the recent log,
and "Sync now". Owners and managers (messaging.change_loyaltysyncsettings), for their own organization."""

from django.contrib import messages as flash
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from dispensary.views.access import staff_view
from messaging.forms_loyalty_sync import LoyaltySyncForm
from messaging.loyalty_sync.settings import loyalty_sync_settings_save
from messaging.loyalty_sync.sync import loyalty_pull
from messaging.models import LoyaltySyncLog, LoyaltySyncSettings

VIEW = "messaging.view_loyaltysyncsettings"
CHANGE = "messaging.change_loyaltysyncsettings"
VENDORS = [value for value, _ in LoyaltySyncSettings.Vendor.choices]
LOG_ROWS = 20


def can_manage_loyalty_sync(user) -> bool:
    return user.is_superuser or user.has_perm(VIEW)


def _vendor(vendor: str) -> str:
    if vendor not in VENDORS:
        raise Http404("No such vendor.")
    return vendor


def _render(request, forms: dict, status: int = 200):
    saved = {row.vendor: row for row in LoyaltySyncSettings.objects.filter(organization=request.organization)}
    panels = []
    for vendor, label in LoyaltySyncSettings.Vendor.choices:
        row = saved.get(vendor)
        log = (
            list(LoyaltySyncLog.objects.filter(settings=row).order_by("-created_at", "-id")[:LOG_ROWS])
            if row
            else []
        )
        panels.append(
            {
                "vendor": vendor,
                "label": label,
                "row": row,
                "form": forms.get(vendor) or _form(vendor, row),
                "log": log,
                "linked": row.links.count() if row else 0,
            }
        )
    return render(request, "messaging/loyalty_sync.html", {"panels": panels}, status=status)


def _form(vendor: str, row: LoyaltySyncSettings | None, data=None) -> LoyaltySyncForm:
    initial = {}
    if row is not None:
        initial = {name: getattr(row, name) for name in ("enabled", "account_id", "location", "base_url")}
    return LoyaltySyncForm(data, vendor=vendor, saved=row, initial=initial)


@staff_view(VIEW, CHANGE, store_required=False)
@require_http_methods(["GET"])
def loyalty_sync_page(request):
    return _render(request, {})


@staff_view(VIEW, CHANGE, store_required=False)
@require_POST
def loyalty_sync_save(request, vendor: str):
    vendor = _vendor(vendor)
    row = LoyaltySyncSettings.objects.filter(organization=request.organization, vendor=vendor).first()
    form = _form(vendor, row, request.POST)
    if not form.is_valid():
        return _render(request, {vendor: form}, status=400)
    data = form.cleaned_data
    saved = loyalty_sync_settings_save(
        organization=request.organization,
        vendor=vendor,
        actor=request.user,
        enabled=data["enabled"],
        account_id=data["account_id"],
        location=data["location"],
        base_url=data["base_url"],
        api_key=data["api_key"],
        auth_token=data.get("auth_token", ""),
    )
    flash.success(request, f"{saved.get_vendor_display()} settings saved.")
    return redirect("messaging:loyalty_sync")


@staff_view(VIEW, CHANGE, store_required=False)
@require_POST
def loyalty_sync_now(request, vendor: str):
    vendor = _vendor(vendor)
    row = LoyaltySyncSettings.objects.filter(organization=request.organization, vendor=vendor).first()
    if row is None or not row.enabled or not row.api_key:
        flash.error(request, "Turn the sync on and save a key first.")
        return redirect("messaging:loyalty_sync")
    count = loyalty_pull(settings_id=row.pk)
    row.refresh_from_db()
    if row.last_error:
        flash.error(request, f"The sync stopped: {row.last_error}")
    else:
        flash.success(request, f"{row.get_vendor_display()}: {count} members checked, audiences updated.")
    return redirect("messaging:loyalty_sync")
