"""Template helpers of the shell: phone numbers for people, and the navigation a member is allowed to see."""

from django import template
from django.urls import reverse

from dispensary.phones import phone_display
from dispensary.views.access import can_see_dashboard, can_see_driver_home, user_primary_role

register = template.Library()


@register.filter
def phone(value: str) -> str:
    return phone_display(value) if value else ""


@register.simple_tag(takes_context=True)
def nav_items(context) -> list[dict]:
    """Links of the top bar: the same tests as the pages' own, so no link leads to a 403."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    items = []
    if can_see_dashboard(user):
        items.append(("Dashboard", reverse("dashboard")))
    if user.has_perms(["pos.add_sale", "dispensary.view_customer"]):
        items.append(("Register", reverse("pos:register")))
    if user.has_perm("dispensary.view_customer"):
        items.append(("Checkout", reverse("pos:checkout")))
        items.append(("Queue", reverse("pos:queue")))
        items.append(("Customers", reverse("customer_index")))
    # Point of sale back office: sales (voids and refunds) and cash drawers.
    if user.has_perm("pos.view_sale"):
        items.append(("Sales", reverse("pos:sale_index")))
    if user.has_perm("pos.manage_drawer"):
        items.append(("Drawers", reverse("pos:drawer_index")))
    if user.has_perm("pos.view_pickuporder"):
        items.append(("Pickups", reverse("pos:pickup_orders")))
    if user.has_perm("pos.view_promotion"):
        items.append(("Promotions", reverse("pos:promotion_index")))
    if user.has_perm("compliance.view_syncrecord"):
        items.append(("Compliance", reverse("compliance:sync_index")))
    if can_see_driver_home(user):
        items.append(("Delivery", reverse("delivery:driver_home")))
    if user.has_perm("dispensary.view_eventdelivery"):
        items.append(("Outbox", reverse("dead_letters")))
    path = request.path
    # The longest link that starts the path is the active one (/pos/queue/ is Queue, not also Checkout /pos/).
    matches = [url for _, url in items if path == url or (url != "/" and path.startswith(url))]
    active = max(matches, key=len, default=None)
    return [{"label": label, "url": url, "active": url == active} for label, url in items]


@register.simple_tag(takes_context=True)
def role_label(context) -> str:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return ""
    if user.is_superuser:
        return "Administrator"
    role = user_primary_role(user)
    return role.label if role else "No role"


@register.simple_tag(takes_context=True)
def page_url(context, number) -> str:
    """This page's query with another page number (search terms and filters kept)."""
    query = context["request"].GET.copy()
    query["page"] = number
    return "?" + query.urlencode()
