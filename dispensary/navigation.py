"""The top bar's links. Each app offers its own links here from its AppConfig.ready() (with the test its
page applies, so no link leads to a 403); the shell assembles those a member may open, grouped in menus
when there are too many for one row, and marks the one that owns the current page."""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.urls import NoReverseMatch, reverse

# Menus, in the order of the top bar. Links without a group stand on the bar themselves.
GROUPS = {
    "counter": "Counter",
    "delivery": "Delivery",
    "compliance": "Compliance",
    "messaging": "Messaging",
    "settings": "Settings",
}
# With more links than this, grouped links go into their menu (a budtender's few links stay on the bar).
FLAT_LIMIT = 8


@dataclass(frozen=True)
class NavLink:
    label: str
    url_name: str
    order: int
    allowed: Callable[[object], bool]
    group: str | None = None
    # Paths this link's section owns besides its own address: prefixes ending in "/" (the longest match
    # wins), or one exact address written "=/pos/".
    owns: tuple[str, ...] = field(default_factory=tuple)

    @property
    def url(self) -> str:
        return reverse(self.url_name)


_LINKS: dict[str, NavLink] = {}


def nav_link_register(link: NavLink) -> None:
    """Offer a link (once per URL name; registering again replaces it, as a reloaded app does)."""
    if link.group is not None and link.group not in GROUPS:
        raise ValueError(f"Unknown navigation group {link.group!r}.")
    _LINKS[link.url_name] = link


def nav_links_for(user, path: str) -> list[dict]:
    """The links `user` may open, in order, each with whether it owns `path`."""
    if user is None or not user.is_authenticated:
        return []
    visible = []
    for link in sorted(_LINKS.values(), key=lambda link: link.order):
        if not link.allowed(user):
            continue
        try:
            url = link.url
        except NoReverseMatch:
            continue
        visible.append((link, url))
    best, best_length = None, -1
    for link, url in visible:
        for prefix in (url, *link.owns):
            if prefix.startswith("="):
                prefix = prefix[1:]
                matches = path == prefix
            else:
                matches = path == prefix or (
                    prefix.endswith("/") and prefix != "/" and path.startswith(prefix)
                )
            if matches and len(prefix) > best_length:
                best, best_length = link.url_name, len(prefix)
    return [
        {"label": link.label, "url": url, "group": link.group, "active": link.url_name == best}
        for link, url in visible
    ]


def nav_menu(links: list[dict]) -> list[dict]:
    """The top bar's entries: links, and menus of grouped links (kept flat when few)."""
    if len(links) <= FLAT_LIMIT:
        return [{**link, "links": None} for link in links]
    entries: list[dict] = []
    menus: dict[str, dict] = {}
    for link in links:
        group = link["group"]
        if group is None:
            entries.append({**link, "links": None})
            continue
        menu = menus.get(group)
        if menu is None:
            menu = {"label": GROUPS[group], "url": None, "group": group, "active": False, "links": []}
            menus[group] = menu
            entries.append(menu)
        menu["links"].append(link)
        menu["active"] = menu["active"] or link["active"]
    # A menu of one link is that link.
    return [
        {**entry["links"][0], "links": None} if entry["links"] and len(entry["links"]) == 1 else entry
        for entry in entries
    ]
