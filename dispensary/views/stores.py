"""What a store looks like today, in its own time zone: local time, today's opening hours, open or not;
and the store switcher."""

import datetime as dt
from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from dispensary.clock import store_local_now
from dispensary.middleware import SESSION_KEY
from dispensary.models import WEEKDAYS, Store
from dispensary.views.access import staff_view


def _label(moment: str) -> str:
    hour, minute = (int(part) for part in moment.split(":"))
    if hour == 24:
        return "midnight"
    return dt.time(hour, minute).strftime("%-I:%M %p")


@dataclass(frozen=True)
class StoreToday:
    store: Store
    local_now: dt.datetime
    spans: list[tuple[str, str]]  # today's opening spans, as labels for people
    is_open: bool

    @property
    def hours_label(self) -> str:
        if not self.spans:
            return "Closed today"
        return ", ".join(f"{opens} – {closes}" for opens, closes in self.spans)


def store_today(store: Store, *, at: dt.datetime | None = None) -> StoreToday:
    now = store_local_now(store, at=at)
    spans = (store.opening_hours or {}).get(WEEKDAYS[now.weekday()], [])
    clock = now.strftime("%H:%M")
    is_open = any(opens <= clock < closes for opens, closes in spans)
    return StoreToday(
        store=store,
        local_now=now,
        spans=[(_label(opens), _label(closes)) for opens, closes in spans],
        is_open=is_open,
    )


@require_POST
@staff_view(store_required=False)
def store_switch(request):
    try:
        store_id = int(request.POST.get("store", ""))
    except ValueError:
        raise PermissionDenied from None
    chosen = next((store for store in request.accessible_stores if store.pk == store_id), None)
    if chosen is None:
        raise PermissionDenied
    request.session[SESSION_KEY] = chosen.pk
    messages.success(request, f"You are now working at {chosen.name}.")
    return redirect(safe_next_url(request, request.POST.get("next", "")))


def safe_next_url(request, target: str, *, default: str = "landing") -> str:
    """Where to go back to: a path of this site (never a view name, another host or a scheme), else the
    default view's URL."""
    if (
        target.startswith("/")
        and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
        and not any(character in target for character in "\r\n\x00")
    ):
        return target
    return reverse(default)
