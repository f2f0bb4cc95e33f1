"""Login landing: each member starts where their work is."""

from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect

from dispensary.roles import Role
from dispensary.views.access import no_access, user_primary_role


def landing(request):
    user = request.user
    if not user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if user.is_superuser:
        return redirect("dashboard")
    role = user_primary_role(user)
    if role is None or not request.store:
        return no_access(request)
    if role == Role.BUDTENDER:
        return redirect("pos:register")
    if role == Role.DRIVER:
        return redirect("delivery:driver_home")
    return redirect("dashboard")
