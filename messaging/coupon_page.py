"""The customer's coupon on the phone (/c/<token>/, no login): the code in large letters, as a QR code and as a
Code 128 barcode the register's scanner reads (it types the code and Enter into the scan field). The token is
the coupon's id signed with django.core.signing, so the address cannot be guessed from another; a bad token
answers 404 with no hint. The same age gate as the short links comes first (the page names a promotion).
Flows and campaigns put `coupon_link(coupon)` into a message as {{coupon_link}}."""

import io
import re

import barcode
import segno
from barcode.writer import SVGWriter
from django import forms
from django.conf import settings
from django.core import signing
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from messaging.views_links import AGE_COOKIE, AGE_COOKIE_DAYS, AGE_COOKIE_SALT, _age_passed, _over_rate, _page
from pos.models import Coupon

COUPON_SALT = "messaging.coupon-page"
_XML_HEAD = re.compile(r"^\s*<\?xml[^>]*>\s*(<!DOCTYPE[^>]*>\s*)?", re.IGNORECASE)


def coupon_token(coupon: Coupon) -> str:
    return signing.dumps(coupon.pk, salt=COUPON_SALT, compress=True)


def coupon_link(coupon: Coupon) -> str:
    """The coupon's page as an absolute address, for a message's {{coupon_link}}."""
    path = reverse("coupon_page", kwargs={"token": coupon_token(coupon)})
    return f"{settings.PUBLIC_SITE_URL.rstrip('/')}{path}"


def coupon_by_token(token: str) -> Coupon | None:
    try:
        coupon_id = signing.loads(token, salt=COUPON_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(coupon_id, int):
        return None
    return Coupon.objects.select_related("promotion").filter(pk=coupon_id).first()


def qr_svg(text: str) -> str:
    return segno.make(text, error="m").svg_inline(scale=8, border=2, title=f"QR code of {text}")


def code128_svg(text: str) -> str:
    out = io.BytesIO()
    barcode.Code128(text, writer=SVGWriter()).write(
        out,
        options={
            "module_width": 0.45,
            "module_height": 20.0,
            "font_size": 0,
            "text_distance": 1.0,
            "quiet_zone": 4.0,
        },
    )
    return _XML_HEAD.sub("", out.getvalue().decode("utf-8"))


def coupon_state(coupon: Coupon, now) -> str:
    """Why the coupon cannot be used any more, in plain words; empty when it can."""
    if not coupon.active:
        return "This coupon is no longer active."
    if coupon.valid_until and now > coupon.valid_until:
        return f"This coupon expired on {timezone.localtime(coupon.valid_until):%b %d, %Y}."
    if coupon.max_uses is not None and coupon.uses >= coupon.max_uses:
        return "This coupon has been used."
    return ""


class AgeForm(forms.Form):
    answer = forms.ChoiceField(choices=[("yes", "Yes"), ("no", "No")])


@never_cache
@require_http_methods(["GET", "POST"])
def coupon_page(request, token: str):
    response = _coupon_page(request, token)
    # The age gate posts back to this page: a browser told "no-referrer" sends "Origin: null", which the CSRF
    # check refuses. Same-origin still sends nothing to other sites.
    response["Referrer-Policy"] = "same-origin"
    return response


def _coupon_page(request, token: str):
    if _over_rate(request):
        response = _page(
            request, "missing.html", {"message": "Too many requests: try again in a minute."}, status=429
        )
        response["Retry-After"] = "60"
        return response
    coupon = coupon_by_token(token)
    if coupon is None:
        return _page(request, "missing.html", {"message": "This coupon link is not valid."}, status=404)
    if request.method == "POST":
        form = AgeForm(request.POST)
        if not form.is_valid():
            return _page(request, "coupon_gate.html", {"token": token, "invalid": True}, status=400)
        if form.cleaned_data["answer"] != "yes":
            return _page(request, "under_age.html")
        response = HttpResponseRedirect(request.path)
        response.set_signed_cookie(
            AGE_COOKIE,
            "yes",
            salt=AGE_COOKIE_SALT,
            max_age=AGE_COOKIE_DAYS * 86400,
            secure=request.is_secure(),
            httponly=True,
            samesite="Lax",
        )
        return response
    if not _age_passed(request):
        return _page(request, "coupon_gate.html", {"token": token})
    refusal = coupon_state(coupon, timezone.now())
    context = {"coupon": coupon, "refusal": refusal}
    if not refusal:
        context["qr"] = mark_safe(qr_svg(coupon.code))  # noqa: S308 - generated from our own code
        context["barcode"] = mark_safe(code128_svg(coupon.code))  # noqa: S308 - generated from our own code
    return _page(request, "coupon.html", context)
