"""Template helpers of the shell: phone numbers for people, and the navigation a member is allowed to see."""

from django import template

from dispensary.navigation import nav_links_for
from dispensary.navigation import nav_menu as nav_menu_of
from dispensary.phones import phone_display
from dispensary.views.access import user_primary_role
from dispensary.wording import limit_window_words, plain_words

register = template.Library()


@register.filter
def phone(value: str) -> str:
    return phone_display(value) if value else ""


@register.filter
def plain(code) -> str:
    """An audit action, a state report's kind, an event or a limit bucket in plain words."""
    return plain_words(code)


@register.filter
def limit_window(usage) -> str:
    """A purchase limit's window ("today", "this sale", "last 30 days") from anything with `window` and
    `window_days`."""
    return limit_window_words(getattr(usage, "window", ""), getattr(usage, "window_days", None))


@register.simple_tag(takes_context=True)
def nav_items(context) -> list[dict]:
    """Links of the top bar the member may open (each app offers its own: dispensary.navigation)."""
    request = context.get("request")
    if request is None:
        return []
    return nav_links_for(getattr(request, "user", None), request.path)


@register.simple_tag(takes_context=True)
def nav_menu(context) -> list[dict]:
    """The same links as the top bar shows them: on the bar, or in their group's menu when there are many."""
    return nav_menu_of(nav_items(context))


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
