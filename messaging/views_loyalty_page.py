"""The customer's loyalty page, public and without staff login: /my/ asks for the link by number (the same answer
whether the number is known or not), /my/<token>/ asks for the PIN texted at that moment and then shows the page
for LOYALTY_PAGE_SESSION_MINUTES under a signed cookie of its own (HttpOnly, SameSite=Lax, path /my/, bound to
the link and the customer). Every view of the page is logged as the customer's own read of their record.

Limits: LOYALTY_PAGE_REQUESTS_PER_HOUR link requests per address and per number (then 429, or for a number, the
same answer and no text), LOYALTY_PAGE_RATE_PER_MINUTE page requests per address. Never cached, never indexed,
no Referer leaves the site (same-origin: "no-referrer" would make browsers send "Origin: null", which the CSRF
check refuses).

Staff send the link from the register's customer panel: POST /messaging/loyalty/customers/<id>/link/."""

import hashlib
import time

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from dispensary.audit import audit_record
from dispensary.client_address import client_address
from dispensary.consent import CHANNELS, disclosure_get, disclosure_text
from dispensary.errors import ApplicationError
from dispensary.models import Customer
from dispensary.phones import phone_display
from dispensary.selectors import customer_record_viewed, marketing_consent_current
from dispensary.services import marketing_consent_record
from dispensary.views.access import staff_view
from messaging.loyalty_page import (
    CustomerSelf,
    PinsExhausted,
    loyalty_link_get,
    loyalty_link_request,
    loyalty_link_send,
    loyalty_pin_check,
    loyalty_pin_send,
)
from messaging.models import LoyaltyPageLink, LoyaltyPagePin
from messaging.selectors_loyalty_page import loyalty_page_get

SESSION_COOKIE = "loyalty_session"
SESSION_SALT = "messaging.loyalty-page.session"
COOKIE_PATH = "/my/"
SENT_WORDS = (
    "If this number belongs to a loyalty member, we have texted it a link to their loyalty page. "
    "It can take a minute to arrive."
)
MISSING_WORDS = "This link is not valid, or it has expired. Ask for a new one below."


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def _private(response: HttpResponse) -> HttpResponse:
    response["X-Robots-Tag"] = "noindex, nofollow, noarchive"
    response["Referrer-Policy"] = "same-origin"  # no Referer leaves the site; POSTs keep their Origin (CSRF)
    return response


def _page(request, template: str, context: dict | None = None, *, status: int = 200) -> HttpResponse:
    response = _private(render(request, f"messaging/loyalty/{template}", context or {}, status=status))
    if status == 429:
        response["Retry-After"] = "3600" if "hour" in (context or {}).get("message", "") else "60"
    return response


def _count(key: str, timeout: int) -> int:
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=timeout)
        return 1


def _over(kind: str, value: str, *, limit: int, seconds: int) -> bool:
    window = int(time.time() // seconds)
    return _count(f"loyalty-page:{kind}:{value}:{window}", seconds * 2) > limit


class LinkRequestForm(forms.Form):
    phone = forms.CharField(max_length=40, label="Your mobile number")


class PinForm(forms.Form):
    code = forms.CharField(max_length=12, label="The 6-digit code we texted you")


class ChoicesForm(forms.Form):
    sms = forms.BooleanField(required=False)
    email = forms.BooleanField(required=False)
    age_affirmed = forms.BooleanField(required=False)


@never_cache
@require_http_methods(["GET", "POST"])
def link_request(request):
    """/my/: the customer types their number; the answer never tells whether it is known."""
    if request.method == "GET":
        return _page(request, "request.html", {"form": LinkRequestForm()})
    limit = _setting("LOYALTY_PAGE_REQUESTS_PER_HOUR", 10)
    if _over("address", client_address(request), limit=limit, seconds=3600):
        return _page(
            request,
            "request.html",
            {"form": LinkRequestForm(), "message": "Too many requests from here: try again in an hour."},
            status=429,
        )
    form = LinkRequestForm(request.POST)
    if not form.is_valid():
        return _page(
            request, "request.html", {"form": form, "message": "Type your mobile number."}, status=400
        )
    digits = "".join(character for character in form.cleaned_data["phone"] if character.isdigit())[-10:]
    number_key = hashlib.sha256(digits.encode()).hexdigest()[:32]
    if not _over("number", number_key, limit=limit, seconds=3600):
        loyalty_link_request(phone=form.cleaned_data["phone"])
    return _page(request, "request.html", {"sent": True, "message": SENT_WORDS})


def _session_link(request, link: LoyaltyPageLink) -> bool:
    value = request.get_signed_cookie(
        SESSION_COOKIE,
        default=None,
        salt=SESSION_SALT,
        max_age=_setting("LOYALTY_PAGE_SESSION_MINUTES", 30) * 60,
    )
    return value == f"{link.pk}:{link.customer_id}"


def _opened(request, token: str):
    """(link, refusal): the link of the token, or the response that refuses it."""
    if _over("page", client_address(request), limit=_setting("LOYALTY_PAGE_RATE_PER_MINUTE", 30), seconds=60):
        return None, _page(
            request, "missing.html", {"message": "Too many requests: try again in a minute."}, status=429
        )
    link = loyalty_link_get(token=token)
    if link is None:
        return None, _page(
            request, "missing.html", {"message": MISSING_WORDS, "form": LinkRequestForm()}, status=404
        )
    return link, None


def _pin_page(request, link, token: str, *, form=None, message: str = "", status: int = 200) -> HttpResponse:
    live = (
        LoyaltyPagePin.objects.filter(link=link, used_at__isnull=True, expires_at__gt=timezone.now())
        .order_by("-created_at")
        .exists()
    )
    context = {
        "token": token,
        "store_name": link.store.name if link.store else link.organization.name,
        "phone_end": link.customer.phone[-4:],
        "code_sent": live,
        "form": form or PinForm(),
        "message": message,
    }
    return _page(request, "pin.html", context, status=status)


def _consent_rows(customer: Customer, page) -> list[dict]:
    rows = []
    for choice in page.choices:
        disclosure = disclosure_get(choice.channel)
        rows.append(
            {
                "choice": choice,
                "version": disclosure.version,
                "text": disclosure_text(disclosure, business=customer.organization.name),
                "address": phone_display(choice.address)
                if choice.channel == "sms" and choice.address
                else choice.address,
            }
        )
    return rows


def _show(request, link, token: str, *, form=None, message: str = "", notice: str = "", status: int = 200):
    customer = link.customer
    page = loyalty_page_get(customer=customer, now=timezone.now())
    customer_record_viewed(
        customer=customer, actor=CustomerSelf(customer), store=link.store, via="loyalty_page"
    )
    context = {
        "token": token,
        "page": page,
        "store_name": link.store.name if link.store else link.organization.name,
        "consent_rows": _consent_rows(customer, page),
        "form": form,
        "message": message,
        "notice": notice,
    }
    return _page(request, "page.html", context, status=status)


@never_cache
@require_http_methods(["GET"])
def loyalty_page(request, token: str):
    link, refusal = _opened(request, token)
    if refusal:
        return refusal
    if not _session_link(request, link):
        return _pin_page(request, link, token)
    notice = "Your choices are saved." if request.GET.get("saved") == "1" else ""
    return _show(request, link, token, notice=notice)


@never_cache
@require_POST
def pin_send(request, token: str):
    link, refusal = _opened(request, token)
    if refusal:
        return refusal
    try:
        loyalty_pin_send(link=link)
    except PinsExhausted as error:
        return _pin_page(request, link, token, message=error.message, status=429)
    return redirect("loyalty_page", token=token)


PIN_WORDS = {
    "wrong": "That code is not right. Tries left: {left}.",
    "expired": "That code has expired. Ask for a new one.",
    "locked": "Too many wrong codes: this link is locked. Ask for a new link.",
}


@never_cache
@require_POST
def pin_check(request, token: str):
    link, refusal = _opened(request, token)
    if refusal:
        return refusal
    form = PinForm(request.POST)
    if not form.is_valid():
        return _pin_page(request, link, token, form=form, message="Type the 6-digit code.", status=400)
    result = loyalty_pin_check(link=link, code=form.cleaned_data["code"])
    if not result.ok:
        if result.reason == "locked":
            return _page(
                request,
                "missing.html",
                {"message": PIN_WORDS["locked"], "form": LinkRequestForm()},
                status=403,
            )
        words = PIN_WORDS[result.reason].format(left=result.attempts_left)
        return _pin_page(request, link, token, form=PinForm(), message=words, status=400)
    response = redirect("loyalty_page", token=token)
    response.set_signed_cookie(
        SESSION_COOKIE,
        f"{link.pk}:{link.customer_id}",
        salt=SESSION_SALT,
        max_age=_setting("LOYALTY_PAGE_SESSION_MINUTES", 30) * 60,
        path=COOKIE_PATH,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure() or settings.SESSION_COOKIE_SECURE,
    )
    return response


@never_cache
@require_POST
def choices_save(request, token: str):
    """The customer turns marketing by text or email on or off: each change is a row of the consent ledger from
    the web, with their address, browser and the disclosure they were shown."""
    link, refusal = _opened(request, token)
    if refusal:
        return refusal
    if not _session_link(request, link):
        return _pin_page(
            request, link, token, message="Your session has ended: ask for a new code.", status=403
        )
    customer = link.customer
    form = ChoicesForm(request.POST)
    form.is_valid()  # three optional boxes: always valid
    current = marketing_consent_current(customer)
    changes = [
        (channel, form.cleaned_data[channel])
        for channel in CHANNELS
        if form.cleaned_data[channel] != bool(current[channel] and current[channel].granted)
    ]
    if any(granted for _, granted in changes) and not form.cleaned_data["age_affirmed"]:
        return _show(request, link, token, message="Tick the box to confirm you are 21 or older.", status=400)
    try:
        with transaction.atomic():
            for channel, granted in changes:
                marketing_consent_record(
                    customer=customer,
                    channel=channel,
                    granted=granted,
                    disclosure_version=disclosure_get(channel).version,
                    staff=None,
                    store=link.store,
                    source="web",
                    age_affirmed=form.cleaned_data["age_affirmed"],
                    ip_address=client_address(request) or None,
                    user_agent=request.META.get("HTTP_USER_AGENT", ""),
                    evidence="The customer's loyalty page",
                )
    except ApplicationError as error:
        return _show(request, link, token, message=error.message, status=400)
    return redirect(reverse("loyalty_page", kwargs={"token": token}) + "?saved=1")


@never_cache
@require_POST
def sign_out(request, token: str):
    response = redirect("loyalty_page", token=token)
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH, samesite="Lax")
    return response


# --- Staff: text the link from the register ---------------------------------------------------------------


@staff_view("dispensary.view_customer")
@require_POST
def link_send_for_customer(request, pk: int):
    customer = get_object_or_404(
        Customer.objects.select_related("organization", "home_store"),
        pk=pk,
        organization=request.organization,
    )
    try:
        loyalty_link_send(
            customer=customer, store=request.store or None, via=LoyaltyPageLink.Via.STAFF, staff=request.user
        )
    except ApplicationError as error:
        words, ok = error.message, False
    else:
        audit_record(
            actor=request.user,
            action="customer.loyalty_link_sent",
            instance=customer,
            after={"via": "staff"},
            organization=customer.organization,
            store=request.store or None,
        )
        words, ok = f"Texted the loyalty page link to {phone_display(customer.phone)}.", True
    if request.htmx:
        return render(
            request, "messaging/loyalty/_link_sent.html", {"customer": customer, "words": words, "ok": ok}
        )
    (messages.success if ok else messages.error)(request, words)
    return redirect("pos:customer_profile", pk=customer.pk)


public_urlpatterns = [
    path("", link_request, name="loyalty_link_request"),
    path("<str:token>/", loyalty_page, name="loyalty_page"),
    path("<str:token>/code/", pin_send, name="loyalty_pin_send"),
    path("<str:token>/code/check/", pin_check, name="loyalty_pin_check"),
    path("<str:token>/choices/", choices_save, name="loyalty_choices"),
    path("<str:token>/sign-out/", sign_out, name="loyalty_sign_out"),
]
