"""A short link opened from a message (/l/<code>, no login): the click is recorded, then the age gate (21 or
older) comes before any product content. Passing it keeps a signed cookie, so the next link skips the question,
and leads on to the link's target, only if that is an http(s) address on one of our allowed hosts (never an open
redirect). Each address may open MESSAGING_LINK_RATE_PER_MINUTE links a minute (then 429); a code that is not
ours answers 404 with no hint."""

import time

from django import forms
from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from dispensary.client_address import client_address
from messaging.attribution import link_click_record
from messaging.links import CODE_PATTERN
from messaging.models import LinkClick, ShortLink
from messaging.rendering import link_allowed

AGE_COOKIE = "age_21"
AGE_COOKIE_SALT = "messaging.age-gate"
AGE_COOKIE_DAYS = 30
CLICK_SALT = "messaging.link-click"


class AgeGateForm(forms.Form):
    answer = forms.ChoiceField(choices=[("yes", "Yes"), ("no", "No")])
    click = forms.CharField(max_length=200, required=False)


def _private(response: HttpResponse) -> HttpResponse:
    response["X-Robots-Tag"] = "noindex, nofollow, noarchive"
    # same-origin, not no-referrer: a browser told no-referrer posts this page's form with "Origin: null",
    # which the CSRF check refuses; no Referer leaves the site either way.
    response["Referrer-Policy"] = "same-origin"
    return response


def _over_rate(request) -> bool:
    key = f"messaging-link-rate:{client_address(request)}:{int(time.time() // 60)}"
    cache.add(key, 0, timeout=120)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=120)
        count = 1
    return count > getattr(settings, "MESSAGING_LINK_RATE_PER_MINUTE", 60)


def _page(request, template: str, context: dict | None = None, *, status: int = 200) -> HttpResponse:
    return _private(render(request, f"messaging/links/{template}", context or {}, status=status))


def _age_passed(request) -> bool:
    value = request.get_signed_cookie(
        AGE_COOKIE, default=None, salt=AGE_COOKIE_SALT, max_age=AGE_COOKIE_DAYS * 86400
    )
    return value == "yes"


def _onward(link: ShortLink) -> HttpResponse | None:
    if not link_allowed(link.target_url):
        return None
    return HttpResponseRedirect(link.target_url)


@never_cache
@require_http_methods(["GET", "POST"])
def link_open(request, code: str):
    if _over_rate(request):
        response = _page(
            request, "missing.html", {"message": "Too many requests: try again in a minute."}, status=429
        )
        response["Retry-After"] = "60"
        return response
    link = (
        ShortLink.objects.select_related("message").filter(code=code).first()
        if CODE_PATTERN.match(code)
        else None
    )
    if link is None:
        return _page(request, "missing.html", {"message": "This link is not valid."}, status=404)
    if request.method == "GET":
        passed = _age_passed(request) or not link.age_gate
        click = LinkClick.objects.create(
            link=link,
            clicked_at=timezone.now(),
            passed_age_gate=passed,
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
        )
        if link.message is not None:
            link_click_record(message=link.message, at=click.clicked_at, detail=f"link {link.code}")
        if passed:
            return _private(_onward(link) or _page(request, "refused.html", status=400))
        token = signing.dumps(click.pk, salt=CLICK_SALT)
        return _page(request, "gate.html", {"form": AgeGateForm(initial={"click": token}), "code": code})
    form = AgeGateForm(request.POST)
    if not form.is_valid():
        return _page(request, "gate.html", {"form": form, "code": code}, status=400)
    if form.cleaned_data["answer"] != "yes":
        return _page(request, "under_age.html")
    try:
        click_id = signing.loads(form.cleaned_data["click"], salt=CLICK_SALT, max_age=3600)
    except signing.BadSignature:
        click_id = None
    if click_id is not None:
        LinkClick.objects.filter(pk=click_id, link=link).update(passed_age_gate=True)
    response = _onward(link)
    if response is None:
        return _page(request, "refused.html", status=400)
    response.set_signed_cookie(
        AGE_COOKIE,
        "yes",
        salt=AGE_COOKIE_SALT,
        max_age=AGE_COOKIE_DAYS * 86400,
        secure=request.is_secure(),
        httponly=True,
        samesite="Lax",
    )
    return _private(response)
