"""A probe that crawls the site as a signed-in member: it follows the links and forms of every page it reaches,
then sends each form again with one field replaced by a hostile value, and each page with hostile query
parameters and ids. It reports every answer of the server that is a 5xx."""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urljoin, urlsplit

from django.urls import Resolver404, resolve
from django.utils import timezone

# One of each class of bad input the probe found: a NUL byte, a quantity of 1e11, a number beyond Decimal's
# 28 digits (and beyond 64 bits as an id), year 9999, a 100,000-character string and a 5,000-digit number.
BAD_VALUES = {
    "nul": "ab\x00cd",
    "1e11": "1e11",
    "digits40": "1234567890123456789012345678901234567890",
    "year9999": "9999-12-31",
    "long": "x" * 100_000,
    "digits5000": "9" * 5000,
}
HUGE_IDS = {"id2**64": str(2**64), "digits5000": "9" * 5000}

SKIPPED_PREFIXES = ("/admin/", "/static/", "/api/", "/logout/", "/media/")


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    choices: dict[str, list[str]] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)


class PageParser(HTMLParser):
    """Links (href, hx-get) and forms (action or hx-post/hx-get, their fields' default values)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in ("href", "hx-get"):
            if attrs.get(name) and tag != "form":
                self.links.append(attrs[name])
        if tag == "form":
            method = (
                "post" if ("hx-post" in attrs or (attrs.get("method") or "").lower() == "post") else "get"
            )
            action = attrs.get("hx-post") or attrs.get("hx-get") or attrs.get("action") or ""
            self._form = Form(action=action, method=method)
            self.forms.append(self._form)
            return
        if self._form is None:
            return
        name = attrs.get("name")
        if tag == "input" and name:
            kind = (attrs.get("type") or "text").lower()
            if kind == "file":
                self._form.files.append(name)
            elif kind in {"checkbox", "radio"}:
                if "checked" in attrs or name not in self._form.fields:
                    self._form.fields[name] = attrs.get("value") or "on"
            elif kind not in {"submit", "button", "image", "reset"}:
                self._form.fields[name] = attrs.get("value") or ""
        elif tag == "button" and name and attrs.get("value") is not None:
            self._form.fields.setdefault(name, attrs["value"])
        elif tag == "select" and name:
            self._select = name
            self._form.fields.setdefault(name, "")
            self._form.choices[name] = []
        elif tag == "option" and self._select:
            value = attrs.get("value") or ""
            self._form.choices[self._select].append(value)
            if "selected" in attrs or not self._form.fields[self._select]:
                self._form.fields[self._select] = value
        elif tag == "textarea" and name:
            self._textarea = name
            self._form.fields[name] = ""

    def handle_data(self, data):
        if self._form is not None and self._textarea:
            self._form.fields[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


@dataclass
class Failure:
    method: str
    url: str
    field: str
    value: str
    status: int

    def __str__(self):
        return f"{self.status} {self.method.upper()} {self.url} {self.field}={self.value}"


def _route(path: str) -> str | None:
    try:
        match = resolve(path)
    except Resolver404:
        return None
    return match.route


def _is_html(response) -> bool:
    return "text/html" in response.get("Content-Type", "")


@dataclass
class Probe:
    client: object
    max_pages: int = 200
    pages: dict[str, str] = field(default_factory=dict)  # route -> a URL of it
    forms: dict[tuple, tuple[str, Form]] = field(default_factory=dict)  # key -> (page URL, form)
    failures: list[Failure] = field(default_factory=list)
    requests: int = 0

    def _send(self, method: str, url: str, data=None, *, name="", value="", htmx=True):
        self.requests += 1
        headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
        if method == "post":
            response = self.client.post(url, data or {}, **headers)
        else:
            response = self.client.get(url, data or {}, **headers)
        if response.status_code >= 500:
            shown = value if len(value) <= 24 else f"{value[:12]}…({len(value)} chars)"
            self.failures.append(Failure(method, url, name, repr(shown), response.status_code))
        return response

    def crawl(self, start: list[str]) -> None:
        queue = deque(start)
        while queue and len(self.pages) < self.max_pages:
            url = queue.popleft()
            path = urlsplit(url).path
            if not path.startswith("/") or path.startswith(SKIPPED_PREFIXES):
                continue
            route = _route(path)
            if route is None or route in self.pages:
                continue
            self.pages[route] = url
            self.requests += 1
            response = self.client.get(url)
            if response.status_code >= 500:
                self.failures.append(Failure("get", url, "", "", response.status_code))
            if response.status_code != 200 or not _is_html(response):
                continue
            parser = PageParser()
            parser.feed(response.content.decode(errors="replace"))
            for link in parser.links:
                queue.append(urljoin(url, link))
            for form in parser.forms:
                action = urljoin(url, form.action) if form.action else url
                action_path = urlsplit(action).path
                action_route = _route(action_path)
                if action_route is None or action_path.startswith(SKIPPED_PREFIXES):
                    continue
                form.action = action
                key = (form.method, action_route, tuple(sorted(form.fields)), tuple(form.files))
                self.forms.setdefault(key, (url, form))
                if form.method == "get":
                    queue.append(action)

    def discover(self, method: str, url: str, data: dict) -> None:
        """The forms of an answer that only a POST shows (the door's check-in panel after a lookup)."""
        response = self._send(method, url, data)
        if response.status_code == 200 and _is_html(response):
            parser = PageParser()
            parser.feed(response.content.decode(errors="replace"))
            for form in parser.forms:
                form.action = urljoin(url, form.action) if form.action else url
                route = _route(urlsplit(form.action).path)
                if route is not None:
                    key = (form.method, route, tuple(sorted(form.fields)), tuple(form.files))
                    self.forms.setdefault(key, (url, form))

    def fuzz_forms(self, values=BAD_VALUES) -> None:
        for _, form in self.forms.values():
            names = [name for name in form.fields if name != "csrfmiddlewaretoken"]
            for name in names:
                for value in values.values():
                    data = dict(form.fields)
                    data[name] = value
                    self._send(form.method, form.action, data, name=name, value=value)

    def fuzz_pages(self, values=BAD_VALUES) -> None:
        """Each page with hostile values in its own query parameters (those of its search forms are fuzzed
        with the forms), and each id in its path replaced by ids beyond 64 bits."""
        for url in self.pages.values():
            parts = urlsplit(url)
            params = dict(parse_qsl(parts.query))
            for name in params:
                for value in values.values():
                    self._send("get", parts.path, {**params, name: value}, name=name, value=value, htmx=False)
            for label, huge in HUGE_IDS.items():
                swapped = re.sub(r"/\d+(?=/|$|\.)", f"/{huge}", parts.path, count=1)
                if swapped != parts.path:
                    self._send("get", swapped, params, name="path id", value=label, htmx=False)


def implausible_values(since: dict[str, int] | None = None) -> list[str]:
    """Every stored value no rule of the platform should have let in: a NUL byte or a text longer than any
    field takes, a number beyond ten million (a quantity or an amount is at most a million), a date of birth after today, a date outside 1900-2199. Rows of the
    platform's own apps only (sessions and the like are not typed by anyone)."""
    import datetime as dt
    from decimal import Decimal

    from django.apps import apps
    from django.db import models

    found = []
    for model in apps.get_models():
        if model._meta.app_label not in {
            "dispensary",
            "inventory",
            "compliance",
            "pos",
            "delivery",
            "messaging",
        }:
            continue
        fields = [
            column
            for column in model._meta.concrete_fields
            if isinstance(
                column, models.CharField | models.TextField | models.DecimalField | models.DateField
            )
            and not column.primary_key
        ]
        if not fields:
            continue
        for row in model.objects.values_list("pk", *[column.attname for column in fields]).iterator():
            for column, value in zip(fields, row[1:], strict=True):
                bad = (
                    (isinstance(value, str) and ("\x00" in value or len(value) > 10_000))
                    or (isinstance(value, Decimal) and abs(value) > Decimal("10000000"))
                    or (
                        column.name == "date_of_birth" and value is not None and value > timezone.now().date()
                    )
                    or (
                        isinstance(value, dt.date)
                        and not dt.date(1900, 1, 1)
                        <= (value.date() if isinstance(value, dt.datetime) else value)
                        <= dt.date(2199, 12, 31)
                    )
                )
                if bad:
                    shown = repr(value)[:40]
                    found.append(f"{model._meta.label}#{row[0]}.{column.name} = {shown}")
    return found
