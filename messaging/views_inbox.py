"""The SMS provider's inbound webhook (`/messaging/sms/inbound/`, customers' replies, signed) and the inbox of
replies staff answer (`/messaging/inbox/`): staff see the replies of the stores they work at; replies filed
under no store are for those who run messaging (owners and managers)."""

import logging

from django import forms
from django.contrib import messages
from django.db.models import Q
from django.http import HttpResponse, HttpResponseForbidden
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from dispensary.errors import ApplicationError
from dispensary.forms import ApplicationErrorForm
from dispensary.views.access import staff_view
from messaging.inbound import REPLY_MAX_LENGTH, inbound_handle, inbound_reply, inbound_sms_receive
from messaging.models import InboundMessage
from messaging.webhooks import sms_request_valid

logger = logging.getLogger(__name__)
VIEW_INBOX = "messaging.view_inboundmessage"
CHANGE_INBOX = "messaging.change_inboundmessage"
RUNS_MESSAGING = "messaging.view_outboundmessage"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
INBOX_LIMIT = 200


@csrf_exempt
@require_POST
def sms_inbound(request):
    """A customer's text, posted by the provider: signature checked first (403 and nothing written otherwise),
    then recorded and acted on once per MessageSid. Answers are queued, so the TwiML stays empty."""
    if not sms_request_valid(request):
        return HttpResponseForbidden("Invalid signature.", content_type="text/plain")
    try:
        inbound_sms_receive(
            from_number=request.POST.get("From", ""),
            to_number=request.POST.get("To", ""),
            body=request.POST.get("Body", ""),
            provider_message_id=request.POST.get("MessageSid", ""),
        )
    except ApplicationError as error:
        # A malformed post is not retried by the provider when answered 200; it is logged for us.
        logger.warning("Inbound text refused: %s", error)
    return HttpResponse(EMPTY_TWIML, content_type="text/xml")


class ReplyForm(ApplicationErrorForm):
    body = forms.CharField(max_length=REPLY_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 2}))


def inbox_messages(request):
    """The replies this member may see: their organization's, at the stores they work at (and the replies of
    no store for those who run messaging)."""
    scope = Q(store__in=[store.pk for store in request.accessible_stores])
    if request.user.has_perm(RUNS_MESSAGING):
        scope |= Q(store__isnull=True)
    return InboundMessage.objects.filter(scope, organization=request.organization)


@staff_view(VIEW_INBOX)
def inbox(request):
    handled = request.GET.get("show") == "handled"
    rows = (
        inbox_messages(request)
        .filter(kind=InboundMessage.Kind.OTHER, handled_at__isnull=not handled)
        .select_related("customer", "store", "handled_by", "reply")
        .order_by("-received_at", "-id")[:INBOX_LIMIT]
    )
    return render(
        request,
        "messaging/inbox.html",
        {
            "rows": list(rows),
            "handled": handled,
            "can_answer": request.user.has_perm(CHANGE_INBOX),
            "limit": INBOX_LIMIT,
        },
    )


def _inbound(request, pk: int) -> InboundMessage:
    return get_object_or_404(inbox_messages(request), pk=pk)


@staff_view(CHANGE_INBOX)
@require_POST
def inbox_reply(request, pk: int):
    inbound = _inbound(request, pk)
    form = ReplyForm(request.POST)
    if form.is_valid():
        try:
            inbound_reply(inbound=inbound, actor=request.user, body=form.cleaned_data["body"])
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "Answer queued; the message is marked handled.")
    else:
        messages.error(request, "Write an answer first (at most 1600 characters).")
    return redirect("messaging:inbox")


@staff_view(CHANGE_INBOX)
@require_POST
def inbox_handled(request, pk: int):
    inbound = _inbound(request, pk)
    inbound_handle(inbound=inbound, actor=request.user)
    messages.success(request, "Marked handled.")
    return redirect("messaging:inbox")


def can_see_inbox(user) -> bool:
    return user.has_perm(VIEW_INBOX)
