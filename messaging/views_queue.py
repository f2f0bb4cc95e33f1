"""The send queue page (`/messaging/queue/`, live with HTMX) and the senders pages (`/messaging/senders/`):
owners and managers (messaging.view_outboundmessage, messaging.*_sender), the stores they work at only."""

from django.contrib import messages as flash
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from dispensary.views.access import staff_view
from messaging.forms_senders import SenderForm
from messaging.models import Sender
from messaging.selectors_queue import queue_overview
from messaging.services_senders import sender_save

QUEUE_PERMISSION = "messaging.view_outboundmessage"
REFRESH_SECONDS = 5


def can_see_queue(user) -> bool:
    return user.is_superuser or user.has_perm(QUEUE_PERMISSION)


def can_see_senders(user) -> bool:
    return user.is_superuser or user.has_perm("messaging.view_sender")


def _duration(seconds) -> str:
    if seconds is None:
        return "unknown (nothing sent in the last minutes)"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


@staff_view(QUEUE_PERMISSION)
def queue_page(request):
    store_ids = [
        store.pk for store in request.accessible_stores if store.organization_id == request.organization.pk
    ]
    overview = queue_overview(organization_id=request.organization.pk, store_ids=store_ids)
    context = {
        "overview": overview,
        "time_left": _duration(overview.backlog.seconds_left),
        "refresh_seconds": REFRESH_SECONDS,
    }
    template = "messaging/_queue_board.html" if request.htmx else "messaging/queue.html"
    return render(request, template, context)


def _scoped_senders(request):
    """The organization's senders for every store, and those of the stores the member works at."""
    store_ids = [store.pk for store in request.accessible_stores]
    return Sender.objects.filter(organization=request.organization).filter(
        Q(store__isnull=True) | Q(store_id__in=store_ids)
    )


def _stores(request):
    return [store for store in request.accessible_stores if store.organization_id == request.organization.pk]


@staff_view("messaging.view_sender")
@require_http_methods(["GET", "POST"])
def sender_list(request):
    """The senders, and the form to add one (POST, with messaging.add_sender)."""
    can_add = request.user.has_perm("messaging.add_sender")
    form = None
    if can_add:
        form = SenderForm(
            request.POST if request.method == "POST" else None,
            organization=request.organization,
            stores=_stores(request),
            instance=Sender(organization=request.organization),
        )
    elif request.method == "POST":
        raise PermissionDenied
    if request.method == "POST" and form.is_valid():
        sender = sender_save(sender=form.save(commit=False), actor=request.user)
        flash.success(request, f"Sender {sender.address} added.")
        return redirect("messaging:senders")
    return _senders_render(request, form=form, editing=None, status=400 if request.method == "POST" else 200)


@staff_view("messaging.view_sender", "messaging.change_sender")
@require_http_methods(["GET", "POST"])
def sender_edit(request, sender_id: int):
    sender = _scoped_senders(request).filter(pk=sender_id).first()
    if sender is None:  # another organization's, or a store the member does not work at
        raise Http404("No such sender.")
    form = SenderForm(
        request.POST if request.method == "POST" else None,
        organization=request.organization,
        stores=_stores(request),
        instance=sender,
    )
    if request.method == "POST" and form.is_valid():
        sender_save(sender=form.save(commit=False), actor=request.user)
        flash.success(request, f"Sender {sender.address} saved.")
        return redirect("messaging:senders")
    return _senders_render(
        request, form=form, editing=sender, status=400 if request.method == "POST" else 200
    )


def _senders_render(request, *, form, editing, status):
    senders = list(_scoped_senders(request).select_related("store").order_by("channel", "address", "pk"))
    return render(
        request,
        "messaging/senders.html",
        {
            "senders": senders,
            "form": form,
            "editing": editing,
            "can_change": request.user.has_perm("messaging.change_sender"),
        },
        status=status,
    )
