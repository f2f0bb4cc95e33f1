"""What the providers and recipients post back, without a login: the SMS provider's signed status callbacks and
the one-click unsubscribe link of marketing email (RFC 8058: a POST with no cookie and no CSRF token). Nothing is
written for a bad signature or a token that is not ours."""

import logging

from django.http import Http404, HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
from django.shortcuts import render
from django.urls import path
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from messaging.sms_status import sms_status_record
from messaging.unsubscribe import unsubscribe_message_get, unsubscribe_record
from messaging.webhooks import sms_request_valid

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def sms_status(request):
    """Twilio's status callback: MessageSid, MessageStatus, ErrorCode, ErrorMessage, To, From. Answers 200 even
    for a message we do not know (logged), so the provider does not post it again forever."""
    if not sms_request_valid(request):
        logger.warning("SMS status callback with a missing or wrong signature refused")
        return HttpResponseForbidden("Invalid signature.")
    sid = request.POST.get("MessageSid", "").strip()
    status = (request.POST.get("MessageStatus") or request.POST.get("SmsStatus") or "").strip()
    if not sid or not status or len(sid) > 120:
        return HttpResponseBadRequest("MessageSid and MessageStatus are required.")
    sms_status_record(
        sid=sid,
        status=status,
        error_code=request.POST.get("ErrorCode", ""),
        error_message=request.POST.get("ErrorMessage", "")[:500],
        key=request.GET.get("key", ""),
    )
    return HttpResponse(status=200)


def _private(response: HttpResponse) -> HttpResponse:
    response["X-Robots-Tag"] = "noindex, nofollow, noarchive"
    response["Referrer-Policy"] = "no-referrer"
    return response


@never_cache
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    """GET: a page with one button (mail scanners follow links: a GET changes nothing). POST: the one-click
    unsubscribe, recorded at once."""
    message = unsubscribe_message_get(token=token)
    if message is None:
        raise Http404("Unknown unsubscribe link.")
    context = {"organization_name": message.organization.name, "email": message.to, "done": False}
    if request.method == "POST":
        unsubscribe_record(message=message)
        context["done"] = True
    return _private(render(request, "messaging/unsubscribe.html", context))


urlpatterns = [
    path("sms/status/", sms_status, name="sms-status"),
    path("unsubscribe/<str:token>/", unsubscribe, name="unsubscribe"),
]
