"""Kiosk mode locks the tablet's session to the kiosk's pages: any other page (the register, the queue, the
dashboard, the sign-in page, the admin, the API) redirects back to the kiosk's menu, or is refused (403) for a
write. Leaving kiosk mode is the kiosk's own staff sign-in."""

from django.conf import settings
from django.http import HttpResponseForbidden, HttpResponseRedirect
from django.urls import reverse

from pos.kiosk import SESSION_KEY


class KioskLockMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        if session is not None and session.get(SESSION_KEY):
            prefix = reverse("pos:kiosk_menu")  # /pos/kiosk/: every kiosk page is under it
            path = request.path_info
            if not (path.startswith(prefix) or path.startswith(settings.STATIC_URL)):
                if request.method in ("GET", "HEAD"):
                    return HttpResponseRedirect(reverse("pos:kiosk_menu"))
                return HttpResponseForbidden("This tablet is in kiosk mode.")
        return self.get_response(request)
