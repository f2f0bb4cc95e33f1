"""The manager home: today at the current store, the organization's customers, outbox health, state reporting,
recent audit. A composition root (like dispensary.urls): it may read every app, so each app offers its card's
figures and this view assembles them; templates and template tags never query."""

from django.db.models import Count, Q
from django.shortcuts import render

from compliance.reporting.dashboard import compliance_summary_get
from delivery.selectors_trips import TRIP_MANAGERS, trips_state_failed
from delivery.tracking import tracking_alerts_unacknowledged
from delivery.views_analytics import can_see_delivery_analytics
from delivery.views_dispatch import can_dispatch
from dispensary.models import AuditRecord, Customer, EventDelivery
from dispensary.views.access import can_see_dashboard, no_access, staff_view, user_roles
from dispensary.views.stores import store_today
from messaging.alerts import messaging_alerts_open
from messaging.views_deliverability import can_see_deliverability

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
        # Only pending and dead deliveries are counted: read through the status index, not every delivery of the
        # organization's history (a busy year holds millions of succeeded ones).
        context["outbox"] = EventDelivery.objects.filter(
            status__in=[EventDelivery.Status.PENDING, EventDelivery.Status.DEAD],
            event__organization=organization,
        ).aggregate(
            pending=Count("id", filter=Q(status=EventDelivery.Status.PENDING)),
            dead=Count("id", filter=Q(status=EventDelivery.Status.DEAD)),
        )
    if user.has_perm("dispensary.view_auditrecord"):
        context["audit_records"] = list(
            AuditRecord.objects.filter(organization=organization).select_related("store")[:RECENT_AUDIT]
        )
    context["compliance"] = compliance_summary_get(user=user, store=store)
    if user.is_superuser or user_roles(user) & TRIP_MANAGERS:
        # Trips the state refused show at once: they cannot leave until someone fixes and retries them.
        context["failed_trips"] = trips_state_failed(store=store)
        # Live tracking's alerts on the trips on the road, until a manager acknowledges them.
        context["tracking_alerts"] = tracking_alerts_unacknowledged(store=store)
    if user.has_perm("messaging.view_messagingalert"):
        # Deliverability alerts (carrier filtering, bounces, complaints) of the member's stores, until acknowledged.
        context["messaging_alerts"] = messaging_alerts_open(stores=list(request.accessible_stores), limit=5)
    context["messaging_link"] = can_see_deliverability(user)
    context["delivery_links"] = {
        "dispatch": can_dispatch(user),
        "analytics": can_see_delivery_analytics(user),
    }
    return render(request, "dispensary/dashboard.html", context)
