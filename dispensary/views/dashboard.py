"""The manager home: today at the current store, the organization's customers, outbox health, recent audit."""

from django.db.models import Count, Q
from django.shortcuts import render

from dispensary.models import AuditRecord, Customer, EventDelivery
from dispensary.views.access import can_see_dashboard, no_access, staff_view
from dispensary.views.stores import store_today

RECENT_AUDIT = 10


@staff_view(allow=can_see_dashboard, store_required=False)
def dashboard(request):
    store = request.store
    if not store:
        return no_access(request)
    organization = store.organization
    user = request.user
    context = {"today": store_today(store)}
    if user.has_perm("dispensary.view_customer"):
        context["customers"] = Customer.objects.filter(organization=organization).aggregate(
            total=Count("id"),
            medical=Count("id", filter=Q(customer_type=Customer.Type.MEDICAL)),
            adult_use=Count("id", filter=Q(customer_type=Customer.Type.ADULT_USE)),
        )
    if user.has_perm("dispensary.view_eventdelivery"):
        context["outbox"] = EventDelivery.objects.filter(event__organization=organization).aggregate(
            pending=Count("id", filter=Q(status=EventDelivery.Status.PENDING)),
            dead=Count("id", filter=Q(status=EventDelivery.Status.DEAD)),
        )
    if user.has_perm("dispensary.view_auditrecord"):
        context["audit_records"] = list(
            AuditRecord.objects.filter(organization=organization).select_related("store")[:RECENT_AUDIT]
        )
    return render(request, "dispensary/dashboard.html", context)
