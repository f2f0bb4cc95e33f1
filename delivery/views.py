"""The driver's start page: their stores with address, phone and today's hours, made for a phone."""

from django.shortcuts import render

from dispensary.views.access import can_see_driver_home, staff_view
from dispensary.views.stores import store_today


@staff_view(allow=can_see_driver_home)
def driver_home(request):
    stores = [store_today(store) for store in request.accessible_stores]
    return render(request, "delivery/driver_home.html", {"stores": stores})
