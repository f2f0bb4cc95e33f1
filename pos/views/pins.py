"""The manager PIN page: someone who approves voids, refunds and paid outs sets or changes their own PIN,
typing their password first so a PIN cannot be set from a session left open at the counter."""

from django.contrib import messages
from django.shortcuts import redirect, render

from dispensary.errors import ApplicationError
from dispensary.views.access import staff_view
from pos.forms import ManagerPinForm
from pos.models import ManagerPin
from pos.services.pins import manager_pin_set


@staff_view("pos.approve_refund", store_required=False)
def manager_pin(request):
    has_pin = ManagerPin.objects.filter(user=request.user).exists()
    form = ManagerPinForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            manager_pin_set(user=request.user, pin=form.cleaned_data["pin"], actor=request.user)
        except ApplicationError as error:
            form.add_application_error(error)
        else:
            messages.success(request, "Your PIN is changed." if has_pin else "Your PIN is set.")
            return redirect("pos:manager_pin")
    return render(request, "pos/manager_pin.html", {"form": form, "has_pin": has_pin})
