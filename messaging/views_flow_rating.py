"""The flows' one public page: the post-purchase question "How was your visit?" (1 to 5), reached by a signed
link in the message. A GET shows the question (mail scanners follow links and change nothing); a POST records
the answer. No login, no customer data shown."""

from django.http import Http404
from django.shortcuts import render
from django.urls import path
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from messaging.flows import flow_rating_record, rating_enrollment_get

SCORES = (1, 2, 3, 4, 5)


@never_cache
@require_http_methods(["GET", "POST"])
def flow_rating(request, token: str):
    enrollment = rating_enrollment_get(token=token)
    if enrollment is None:
        raise Http404("Unknown rating link.")
    context = {
        "organization_name": enrollment.flow.organization.name,
        "store_name": enrollment.store.name if enrollment.store else enrollment.flow.organization.name,
        "scores": SCORES,
        "chosen": (enrollment.context or {}).get("rating"),
        "done": False,
        "error": "",
    }
    if request.method == "POST":
        raw = request.POST.get("score", "")
        if raw.isdigit() and int(raw) in SCORES:
            enrollment = flow_rating_record(enrollment=enrollment, score=int(raw))
            context.update(done=True, chosen=int(raw))
        else:
            context["error"] = "Choose a number from 1 to 5."
    response = render(request, "messaging/flow_rating.html", context, status=400 if context["error"] else 200)
    response["X-Robots-Tag"] = "noindex, nofollow, noarchive"
    # same-origin, not no-referrer: a browser told no-referrer posts this page's form with "Origin: null",
    # which the CSRF check refuses; no Referer leaves the site either way.
    response["Referrer-Policy"] = "same-origin"
    return response


RATING_URLS = [path("rate/<str:token>/", flow_rating, name="flow_rating")]
