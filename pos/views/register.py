"""The budtender's register: choose the register, then build a cart by scanning and searching, with the
customer's profile and ID check on the left, the cart and tender in the middle and the live limit meter on the
right. A scan, a line's quantity, removal or price and the ID check are one htmx POST each, answered with only
the parts of the screen they change as out-of-band swaps (the changed lines, the totals, the limit meter, the
message); the customer and the discounts re-render the workspace. Completion also accepts one JSON POST (the
register's script retries it with the cart's idempotency key when the connection drops)."""

import datetime as dt
import hashlib
from dataclasses import dataclass
from decimal import Decimal

from django.http import Http404, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.template.loader import get_template
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from compliance.selectors import jurisdiction_rules_get
from dispensary.clock import age_on, store_local_date
from dispensary.errors import ApplicationError, ValidationFailed
from dispensary.forms import PhoneLookupForm
from dispensary.inputs import InputRejected, date_problem, id_parse, json_parse, money_parse
from dispensary.selectors import customer_get_by_phone, customer_record_viewed
from dispensary.views.access import staff_view
from pos.models import Cart, CartLine, CustomerType, QueueEntry
from pos.pricing import ZERO
from pos.selectors.carts import (
    CartView,
    cart_buyer,
    cart_get,
    cart_view,
    counter_choices,
    counter_profile,
    drawer_open_get,
    product_search,
    register_get,
)
from pos.selectors.drawers import register_drawer_list
from pos.selectors.promotions import coupon_code_exists
from pos.selectors.queue import queue_customer_get
from pos.services import TenderInput
from pos.services.carts import (
    LineChange,
    cart_cancel,
    cart_caregiver_buy_for,
    cart_caregiver_end,
    cart_complete,
    cart_coupon_add,
    cart_coupon_remove,
    cart_customer_set,
    cart_employee_set,
    cart_id_verify,
    cart_line_add,
    cart_line_price_override,
    cart_line_remove,
    cart_line_update_quantity,
    cart_open,
    cart_promotion_choose,
    cart_reward_choose,
    cart_scan,
    cart_veteran_check,
)

# The register the budtender works at, remembered in their session for the register and the queue alike.
REGISTER_SESSION = "pos.register_id"
CART_SESSION = "pos.cart_id"
SELL = ("pos.add_sale", "dispensary.view_customer")
DRAWERS_URL = "/pos/drawers/"


def receipt_url(sale) -> str:
    return f"/pos/sales/{sale.pk}/receipt/"


def _register(request):
    return register_get(store=request.store, register_id=request.session.get(REGISTER_SESSION))


def _cart(request, cart_id) -> Cart:
    cart = cart_get(store=request.store, cart_id=cart_id)
    if cart is None:
        raise Http404("No such cart at this store.")
    return cart


def _taxes(quote) -> list[tuple[str, str, Decimal]]:
    """Each tax of the cart by name, excise first."""
    by_name: dict[tuple[str, str], Decimal] = {}
    for line in quote.lines:
        for tax in line.taxes:
            key = (tax.tax.level, tax.tax.name)
            by_name[key] = by_name.get(key, ZERO) + tax.amount
    order = {"excise": 0, "state": 1, "local": 2}
    return [
        (name, level, amount)
        for (level, name), amount in sorted(
            by_name.items(), key=lambda item: (order.get(item[0][0], 3), item[0][1])
        )
    ]


@dataclass(frozen=True)
class Row:
    """A cart line as the screen shows it. `key` digests everything the row shows: the screen sends back the
    keys of the rows it has, and an update answers only the rows whose key differs."""

    line: CartLine
    priced: object  # the line of the quote: product, prices, discounts, taxes
    key: str


def _rows(view: CartView) -> list[Row]:
    rows = []
    for line, priced in view.rows():
        shown = (
            line.quantity,
            line.package.tag if line.package_id else "",
            line.price_override,
            priced.product.name,
            priced.unit,
            priced.unit_price,
            priced.total,
            *((discount.name, discount.amount) for discount in priced.discounts),
        )
        key = hashlib.blake2s(_shown_text(shown).encode(), digest_size=6).hexdigest()
        rows.append(Row(line=line, priced=priced, key=key))
    return rows


def _shown_text(value) -> str:
    """A value as the row shows it: 1 and 1.000 (a quantity just typed, the same read back) are one."""
    if isinstance(value, tuple):
        return "(" + "|".join(_shown_text(item) for item in value) + ")"
    if isinstance(value, Decimal):
        return str(value.normalize())
    return str(value)


def _workspace_context(request, cart: Cart, view: CartView | None = None, **extra) -> dict:
    """Everything the workspace shows, read here (the templates read nothing): one quote per request."""
    view = view or cart_view(cart=cart)
    profile = None
    if cart.customer is not None:
        profile = counter_profile(customer=cart.customer, store=request.store)
    rules = jurisdiction_rules_get(
        jurisdiction=request.store.jurisdiction, on=store_local_date(request.store)
    )
    verification = cart.id_verification
    age = None
    if cart.customer is not None and cart.customer.date_of_birth:
        age = age_on(cart.customer.date_of_birth, store_local_date(request.store))
    choices = counter_choices(cart=cart, staff=request.user)
    rows = _rows(view)
    context = {
        "cart": cart,
        "view": view,
        "quote": view.quote,
        "rows": rows,
        "taxes": _taxes(view.quote),
        "profile": profile,
        "customer_age": age,
        "verification": verification,
        "anonymous_allowed": rules.anonymous_sales_allowed,
        "drawer": drawer_open_get(register=cart.register) if cart.register else None,
        "drawers_url": DRAWERS_URL,
        "lookup_form": PhoneLookupForm(),
        "customer_types": CustomerType.choices,
        "can_complete": bool(rows) and verification is not None and verification.passed,
        "choices": choices,
        "resident": choices.resident,
        "discounts_chosen": len(cart.promotion_ids) + len(cart.reward_ids),
        "store_state": _store_state(request.store),
        "residency_matters": any(limit.residency != "any" for limit in rules.limits),
    }
    context.update(extra)
    return context


def _store_state(store) -> str:
    return store.jurisdiction.rsplit("-", 1)[-1]


def _workspace(request, cart: Cart, *, status: int = 200, view: CartView | None = None, **extra):
    """htmx swaps the workspace; without JavaScript the whole screen is rendered."""
    context = _workspace_context(request, cart, view, **extra)
    if request.htmx:
        return render(request, "pos/register/_workspace.html", context, status=status)
    return render(request, "pos/register/screen.html", {**context, "register": cart.register}, status=status)


ROWS_SHOWN_MAX = 500  # the keys a screen may send back: far more lines than any cart has


def _rows_shown(request) -> dict[int, str] | None:
    """The rows the screen has, by line id, with their keys (None: unknown, send every row)."""
    raw = request.POST.get("rows")
    if raw is None:
        return None
    shown = {}
    for item in raw.split(",")[:ROWS_SHOWN_MAX]:
        line_id, _, key = item.partition(":")
        if id_parse(line_id) is not None:
            shown[id_parse(line_id)] = key[:32]
    return shown


def _update(request, cart: Cart, view: CartView, *, id_section: bool = False, **messages):
    """The parts of the screen a change of lines (or the ID) changes, as out-of-band swaps: the rows that differ
    from the screen's, the totals, the limit meter, the message, the coupon and discount results and whether the
    sale can be completed. Read nothing more than the change itself read."""
    rows = _rows(view)
    shown = _rows_shown(request)
    verification = cart.id_verification
    context = {
        "cart": cart,
        "quote": view.quote,
        "rows": rows,
        "taxes": _taxes(view.quote),
        "verification": verification,
        "can_complete": bool(rows) and verification is not None and verification.passed,
        "csrf_token": get_token(request),
        "all_rows": shown is None or not rows,
        "id_section": id_section,
        "store_state": _store_state(request.store),
        **messages,
    }
    if shown is not None and rows:
        ids = {row.line.pk for row in rows}
        context["changed_rows"] = [
            row for row in rows if row.line.pk in shown and shown[row.line.pk] != row.key
        ]
        context["added_rows"] = [row for row in rows if row.line.pk not in shown]
        context["removed_ids"] = [line_id for line_id in shown if line_id not in ids]
        context["drop_empty"] = not shown
    if id_section and cart.customer is not None:
        rules = jurisdiction_rules_get(
            jurisdiction=request.store.jurisdiction, on=store_local_date(request.store)
        )
        context["residency"] = True
        context["resident"] = cart_buyer(cart).resident
        context["residency_matters"] = any(limit.residency != "any" for limit in rules.limits)
    # Rendered without the context processors (the navigation's roles and stores are not part of an update).
    return HttpResponse(get_template("pos/register/_update.html").render(context))


def _change(request, cart_id, action, *, message_key="refusal"):
    """Run one cart change; an application error is shown on the workspace and changes nothing."""
    cart = _cart(request, cart_id)
    try:
        action(cart)
    except ApplicationError as error:
        return _workspace(
            request,
            _cart(request, cart_id),
            status=200 if request.htmx else 400,
            **{message_key: error.message},
        )
    return _workspace(request, _cart(request, cart_id))


def _line_change(request, cart_id, action, *, message_key="refusal", id_section=False):
    """Run one change of the cart's lines (or its ID) and answer with what it changed on the screen; an
    application error is shown as the message and changes nothing. Without htmx the whole screen comes back.

    The change locks and reads the cart itself (within this store: 404 for another's), so the view reads it
    only after a change that does not hand it back."""
    if id_parse(cart_id) is None:
        raise Http404("No such cart at this store.")
    try:
        change = action(Cart(pk=id_parse(cart_id), store=request.store))
    except Cart.DoesNotExist:
        raise Http404("No such cart at this store.") from None
    except ApplicationError as error:
        cart = _cart(request, cart_id)
        if not request.htmx:
            return _workspace(request, cart, status=400, **{message_key: error.message})
        return _update(
            request, cart, cart_view(cart=cart), id_section=id_section, **{message_key: error.message}
        )
    if isinstance(change, LineChange) and change.cart is not None:
        cart = change.cart
        view = cart_view(cart=cart, lines=change.lines, quote=change.quote)
    else:
        cart = _cart(request, cart_id)
        view = cart_view(cart=cart)
    if not request.htmx:
        return _workspace(request, cart, view=view)
    return _update(request, cart, view, id_section=id_section)


# --- The register and its carts -------------------------------------------------------------------------------


@require_GET
@staff_view(*SELL)
def register_screen(request):
    """The chosen register's current cart, or the choice of register, or the start of a new sale."""
    register = _register(request)
    queue_entry = None
    if request.GET.get("queue_entry"):
        queue_entry = _queue_entry(request, request.GET["queue_entry"])
    customer = _customer(request, request.GET["customer"]) if request.GET.get("customer") else None
    if register is None or request.GET.get("change"):
        registers = register_drawer_list(store=request.store)
        return render(
            request,
            "pos/register/choose.html",
            {
                "registers": [(register, register.open_session) for register in registers],
                "queue_entry": queue_entry,
                "customer": customer,
                "drawers_url": DRAWERS_URL,
            },
        )
    cart = cart_get(store=request.store, cart_id=request.session.get(CART_SESSION))
    if (
        cart is not None
        and cart.status == Cart.Status.OPEN
        and cart.register_id == register.pk
        and queue_entry is None
        and customer is None
    ):
        return redirect("pos:register_cart", cart_id=cart.pk)
    return render(
        request,
        "pos/register/start.html",
        {
            "register": register,
            "drawer": drawer_open_get(register=register),
            "drawers_url": DRAWERS_URL,
            "queue_entry": queue_entry,
            "customer": customer,
        },
    )


def _queue_entry(request, entry_id) -> QueueEntry:
    entry_id = id_parse(entry_id)
    if entry_id is None:
        raise Http404("No such queue entry.")
    entry = QueueEntry.objects.filter(store=request.store, pk=entry_id).select_related("customer").first()
    if entry is None:
        raise Http404("No such queue entry.")
    return entry


def _customer(request, customer_id):
    """The customer the counter lookup starts a sale for: one of the organization's."""
    customer = None
    if id_parse(customer_id):
        customer = queue_customer_get(organization=request.organization, customer_id=id_parse(customer_id))
    if customer is None:
        raise Http404("No such customer.")
    return customer


@require_POST
@staff_view(*SELL)
def register_choose(request):
    register = register_get(store=request.store, register_id=request.POST.get("register"))
    if register is None:
        raise Http404("No such register at this store.")
    request.session[REGISTER_SESSION] = register.pk
    request.session.pop(CART_SESSION, None)
    target = reverse("pos:register")
    if id_parse(request.POST.get("queue_entry")):
        target += f"?queue_entry={id_parse(request.POST['queue_entry'])}"
    elif id_parse(request.POST.get("customer")):
        target += f"?customer={id_parse(request.POST['customer'])}"
    return redirect(target)


@require_POST
@staff_view(*SELL)
def register_cart_new(request):
    customer = _customer(request, request.POST["customer"]) if request.POST.get("customer") else None
    register = _register(request)
    if register is None:
        # Choose the register first, then start the sale (for the customer found at the counter).
        target = reverse("pos:register")
        return redirect(f"{target}?customer={customer.pk}" if customer else target)
    queue_entry = None
    if request.POST.get("queue_entry"):
        queue_entry = _queue_entry(request, request.POST["queue_entry"])
    extra = {}
    if customer is not None and queue_entry is None:
        extra = {"customer": customer, "customer_type": customer.customer_type}
    cart = cart_open(
        store=request.store, register=register, staff=request.user, queue_entry=queue_entry, **extra
    )
    request.session[CART_SESSION] = cart.pk
    return redirect("pos:register_cart", cart_id=cart.pk)


@require_GET
@staff_view(*SELL)
def register_cart(request, cart_id):
    cart = _cart(request, cart_id)
    if cart.status == Cart.Status.COMPLETED and cart.sale_id:
        return redirect(f"/pos/sales/{cart.sale_id}/receipt/")
    if cart.customer is not None:
        customer_record_viewed(customer=cart.customer, actor=request.user, store=request.store, via="pos")
    if request.session.get(CART_SESSION) != cart.pk:
        request.session[CART_SESSION] = cart.pk  # written only when it changes: a session write is a query
    return render(
        request, "pos/register/screen.html", {**_workspace_context(request, cart), "register": cart.register}
    )


# --- The customer and the ID ----------------------------------------------------------------------------------


@require_POST
@staff_view(*SELL)
def register_customer_lookup(request, cart_id):
    cart = _cart(request, cart_id)
    form = PhoneLookupForm(request.POST)
    if not form.is_valid():
        return _workspace(
            request, cart, lookup_error=form.errors["phone"][0], lookup_phone=request.POST.get("phone", "")
        )
    customer = customer_get_by_phone(organization=request.organization, phone=form.cleaned_data["phone"])
    if customer is None:
        return _workspace(
            request,
            cart,
            lookup_error="No customer has that phone number. Add them at the counter lookup.",
            lookup_phone=request.POST.get("phone", ""),
        )
    customer_record_viewed(customer=customer, actor=request.user, store=request.store, via="pos")
    customer_type = request.POST.get("customer_type") or customer.customer_type
    return _change(
        request,
        cart_id,
        lambda cart: cart_customer_set(
            cart=cart, staff=request.user, customer=customer, customer_type=customer_type
        ),
        message_key="lookup_error",
    )


@require_POST
@staff_view(*SELL)
def register_customer_type(request, cart_id):
    return _change(
        request,
        cart_id,
        lambda cart: cart_customer_set(
            cart=cart,
            staff=request.user,
            customer=cart.customer,
            customer_type=request.POST.get("customer_type"),
        ),
        message_key="lookup_error",
    )


@require_POST
@staff_view(*SELL)
def register_customer_anonymous(request, cart_id):
    return _change(
        request,
        cart_id,
        lambda cart: cart_customer_set(
            cart=cart, staff=request.user, customer=None, customer_type=CustomerType.ADULT_USE
        ),
        message_key="lookup_error",
    )


def _date(raw: str, name: str) -> dt.date | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed(
            f"{raw[:40]!r} is not a date (YYYY-MM-DD).", details={name: ["Not a date."]}
        ) from None
    problem = date_problem(day)
    if problem:
        raise ValidationFailed(problem, details={name: [problem]})
    return day


@require_POST
@staff_view(*SELL)
def register_id_verify(request, cart_id):
    def verify(cart):
        scan_text = request.POST.get("scan_text", "").strip()
        date_of_birth = None if scan_text else _date(request.POST.get("date_of_birth"), "date_of_birth")
        expires_on = None if scan_text else _date(request.POST.get("expires_on"), "expires_on")
        if not scan_text and expires_on is None:
            raise ValidationFailed("Type the ID's expiry date too.", details={"expires_on": ["Required."]})
        result = cart_id_verify(
            cart=cart,
            staff=request.user,
            scan_text=scan_text,
            date_of_birth=date_of_birth,
            expires_on=expires_on,
            issuing_state="" if scan_text else request.POST.get("issuing_state", ""),
        )
        return result

    return _line_change(request, cart_id, verify, message_key="id_error", id_section=True)


# --- Lines ----------------------------------------------------------------------------------------------------


@require_POST
@staff_view(*SELL)
def register_scan(request, cart_id):
    """A scanned tag or barcode adds a line; a scanned coupon (the customer's phone shows its code as a
    barcode) is applied as if typed in the coupon field. The coupon is looked for only when no tag, barcode or
    SKU matched, so a line's scan reads nothing more."""
    code = request.POST.get("code", "")

    def scan(cart):
        try:
            return cart_scan(
                cart=cart, staff=request.user, code=code, quantity=request.POST.get("quantity") or None
            )
        except ValidationFailed:
            if not coupon_code_exists(organization_id=request.store.organization_id, code=code):
                raise
        return cart_coupon_add(cart=cart, staff=request.user, code=code)

    return _line_change(request, cart_id, scan)


@require_GET
@staff_view(*SELL)
def register_search(request, cart_id):
    cart = _cart(request, cart_id)
    query = request.GET.get("q", "")
    return render(
        request,
        "pos/register/_search_results.html",
        {"cart": cart, "products": product_search(store=request.store, query=query), "query": query},
    )


@require_POST
@staff_view(*SELL)
def register_line_add(request, cart_id):
    return _line_change(
        request,
        cart_id,
        lambda cart: cart_line_add(
            cart=cart,
            staff=request.user,
            product_id=request.POST.get("product_id"),
            quantity=request.POST.get("quantity") or None,
            package_id=request.POST.get("package_id") or None,
        ),
    )


@require_POST
@staff_view(*SELL)
def register_line_quantity(request, cart_id, line_id):
    return _line_change(
        request,
        cart_id,
        lambda cart: cart_line_update_quantity(
            cart=cart, staff=request.user, line_id=line_id, quantity=request.POST.get("quantity", "")
        ),
    )


@require_POST
@staff_view(*SELL)
def register_line_remove(request, cart_id, line_id):
    return _line_change(
        request, cart_id, lambda cart: cart_line_remove(cart=cart, staff=request.user, line_id=line_id)
    )


@require_POST
@staff_view(*SELL)
def register_line_override(request, cart_id, line_id):
    return _line_change(
        request,
        cart_id,
        lambda cart: cart_line_price_override(
            cart=cart,
            staff=request.user,
            line_id=line_id,
            unit_price=request.POST.get("unit_price", ""),
            pin=request.POST.get("pin", ""),
        ),
    )


@require_POST
@staff_view(*SELL)
def register_coupon(request, cart_id):
    """Apply a code (a refused one is not kept and the reason is shown), or remove one."""
    if request.POST.get("remove"):
        return _change(
            request,
            cart_id,
            lambda cart: cart_coupon_remove(cart=cart, staff=request.user, code=request.POST["remove"]),
            message_key="coupon_error",
        )
    return _change(
        request,
        cart_id,
        lambda cart: cart_coupon_add(cart=cart, staff=request.user, code=request.POST.get("code", "")),
        message_key="coupon_error",
    )


@require_POST
@staff_view(*SELL)
def register_caregiver(request, cart_id):
    """The caregiver at the counter buys for one of their patients, or for themselves again."""

    def change(cart):
        if request.POST.get("end"):
            return cart_caregiver_end(cart=cart, staff=request.user)
        return cart_caregiver_buy_for(
            cart=cart, staff=request.user, patient_id=request.POST.get("patient", "")
        )

    return _change(request, cart_id, change, message_key="lookup_error")


def _chosen(request) -> bool:
    return request.POST.get("chosen", "1") != "0"


@require_POST
@staff_view(*SELL)
def register_promotion(request, cart_id):
    return _change(
        request,
        cart_id,
        lambda cart: cart_promotion_choose(
            cart=cart,
            staff=request.user,
            promotion_id=request.POST.get("promotion", ""),
            chosen=_chosen(request),
        ),
        message_key="discount_error",
    )


@require_POST
@staff_view(*SELL)
def register_reward(request, cart_id):
    return _change(
        request,
        cart_id,
        lambda cart: cart_reward_choose(
            cart=cart, staff=request.user, reward_id=request.POST.get("reward", ""), chosen=_chosen(request)
        ),
        message_key="discount_error",
    )


@require_POST
@staff_view(*SELL)
def register_employee(request, cart_id):
    return _change(
        request,
        cart_id,
        lambda cart: cart_employee_set(
            cart=cart, staff=request.user, employee_id=request.POST.get("employee")
        ),
        message_key="discount_error",
    )


@require_POST
@staff_view(*SELL)
def register_veteran(request, cart_id):
    return _change(
        request,
        cart_id,
        lambda cart: cart_veteran_check(cart=cart, staff=request.user, proof=request.POST.get("proof", "")),
        message_key="discount_error",
    )


@require_POST
@staff_view(*SELL)
def register_cancel(request, cart_id):
    cart = _cart(request, cart_id)
    try:
        cart_cancel(cart=cart, staff=request.user)
    except ApplicationError:
        pass  # already completed or cancelled: nothing to cancel
    request.session.pop(CART_SESSION, None)
    return redirect("pos:register")


# --- Completion -----------------------------------------------------------------------------------------------


def _money(raw) -> Decimal | None:
    raw = str(raw if raw is not None else "").strip()
    if not raw:
        return None
    try:
        return money_parse(raw)
    except InputRejected as error:
        raise ValidationFailed(error.message, details={"amount": [error.message]}) from None


def _tenders_from_json(data) -> list[TenderInput]:
    tenders = data.get("tenders") if isinstance(data, dict) else None
    if not isinstance(tenders, list):
        raise ValidationFailed("Give the tenders.", details={"tenders": ["A list."]})
    found = []
    for tender in tenders:
        if not isinstance(tender, dict):
            raise ValidationFailed("Each tender has a kind and an amount.", details={"tenders": ["Objects."]})
        amount = _money(tender.get("amount"))
        if amount is None:
            raise ValidationFailed("Each tender has an amount.", details={"amount": ["Required."]})
        found.append(
            TenderInput(str(tender.get("kind", "")), amount, str(tender.get("reference") or "")[:120])
        )
    return found


def _tenders_from_form(post) -> list[TenderInput]:
    tenders = []
    card = _money(post.get("card_amount"))
    if card is not None and card != 0:
        tenders.append(TenderInput("card", card, post.get("card_reference", "").strip()[:120]))
    cash = _money(post.get("cash_amount"))
    if cash is not None and cash != 0:
        tenders.append(TenderInput("cash", cash))
    return tenders


@require_POST
@staff_view(*SELL)
def register_complete(request, cart_id):
    """Complete the cart: a form post (redirects to the receipt) or one JSON post (answers JSON). The completion
    locks and reads the cart itself, within this store (404 for another's)."""
    if id_parse(cart_id) is None:
        raise Http404("No such cart at this store.")
    as_json = request.content_type == "application/json"
    try:
        if as_json:
            try:
                data = json_parse(request.body or b"{}")
            except InputRejected as error:
                raise ValidationFailed(error.message, details={"body": [error.message]}) from None
            key = str(data.get("idempotency_key", "")) if isinstance(data, dict) else ""
            tenders = _tenders_from_json(data)
        else:
            key = request.POST.get("idempotency_key", "")
            tenders = _tenders_from_form(request.POST)
        sale = cart_complete(
            cart=Cart(pk=id_parse(cart_id), store=request.store),
            staff=request.user,
            tenders=tenders,
            idempotency_key=key,
        )
    except Cart.DoesNotExist:
        raise Http404("No such cart at this store.") from None
    except ApplicationError as error:
        cart = _cart(request, cart_id)  # 404 for another store's cart, whatever was wrong with the input
        if as_json:
            return JsonResponse(
                {"code": error.code, "message": error.message, "details": _plain(error.details)},
                status=error.status,
            )
        return _workspace(request, cart, status=200 if request.htmx else 400, tender_error=error.message)
    # The session keeps the completed cart's id: the register screen resumes only an open cart, and leaving
    # the session alone spares every sale a session write.
    if as_json:
        change_due = sum((tender.change_due for tender in sale.tenders.all()), ZERO)
        return JsonResponse(
            {
                "sale_id": sale.pk,
                "receipt_number": sale.receipt_number,
                "total": str(sale.total),
                "change_due": str(change_due),
                "receipt_url": receipt_url(sale),
            }
        )
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = receipt_url(sale)
        return response
    return redirect(receipt_url(sale))


def _plain(value):
    """Details as JSON: Decimals and other values as text."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)
