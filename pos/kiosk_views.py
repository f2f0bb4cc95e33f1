"""The kiosk's pages: a staff member starts kiosk mode for their store (the tablet is then signed out of their
account and can reach the kiosk's pages only), the customer browses the menu, fills a cart, gives their name,
phone and date of birth and places the order; leaving kiosk mode takes a staff sign-in."""

import uuid
from decimal import Decimal, InvalidOperation
from functools import wraps
from urllib.parse import urlencode

from django import forms
from django.contrib.auth import authenticate, login, logout
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from dispensary.errors import ApplicationError
from dispensary.forms import ApplicationErrorForm, DateOfBirthField
from dispensary.views.access import staff_view
from inventory.models import Product, quantity_text
from pos.kiosk import (
    CART_KEY,
    LAST_ORDER_KEY,
    SESSION_KEY,
    KioskCustomerInput,
    cart_lines,
    cart_quote,
    cart_set,
    kiosk_categories,
    kiosk_from_session,
    kiosk_may_start,
    kiosk_order_place,
    kiosk_products,
)
from pos.models import PickupOrder


def kiosk_view(view):
    """The page of a tablet in kiosk mode: anything else gets the 'not in kiosk mode' page (403)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        kiosk = kiosk_from_session(request.session)
        if kiosk is None:
            request.session.pop(SESSION_KEY, None)
            return render(request, "pos/kiosk/not_started.html", status=403)
        request.kiosk = kiosk
        with timezone.override(kiosk.store.tz):
            return view(request, *args, **kwargs)

    return wrapper


# --- Starting and leaving kiosk mode -------------------------------------------------------------------------------


@staff_view("pos.use_kiosk")
def kiosk_start(request):
    store = request.store
    if request.method == "POST":
        if not kiosk_may_start(request.user, store):
            return render(request, "pos/kiosk/start.html", {"store": store}, status=403)
        starter = request.user.pk
        # The tablet stops being this staff member's: a customer cannot reach anything behind their sign-in.
        logout(request)
        request.session[SESSION_KEY] = {"store": store.pk, "by": starter, "since": timezone.now().isoformat()}
        return redirect("pos:kiosk_menu")
    return render(request, "pos/kiosk/start.html", {"store": store})


class StaffSignInForm(ApplicationErrorForm):
    username = forms.CharField(max_length=150, widget=forms.TextInput(attrs={"autocomplete": "username"}))
    password = forms.CharField(
        max_length=128, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )


@kiosk_view
def kiosk_exit(request):
    form = StaffSignInForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = authenticate(
            request, username=form.cleaned_data["username"], password=form.cleaned_data["password"]
        )
        if user is not None and kiosk_may_start(user, request.kiosk.store):
            for key in (SESSION_KEY, CART_KEY, LAST_ORDER_KEY):
                request.session.pop(key, None)
            login(request, user)
            return redirect("pos:pickup_orders")
        form.add_error(None, "Only staff of this store who may run the kiosk can leave kiosk mode.")
    status = 400 if request.method == "POST" else 200
    return render(request, "pos/kiosk/exit.html", {"form": form, "store": request.kiosk.store}, status=status)


# --- The menu and the cart -----------------------------------------------------------------------------------------


def _filters(request) -> dict:
    source = request.POST if request.method == "POST" else request.GET
    category = source.get("category", "")
    if category not in Product.Category.values:
        category = ""
    return {"category": category, "q": source.get("q", "").strip()[:80]}


def _menu_url(filters: dict) -> str:
    query = urlencode({key: value for key, value in filters.items() if value})
    return reverse("pos:kiosk_menu") + (f"?{query}" if query else "")


def _cart_context(request) -> dict:
    store = request.kiosk.store
    lines = cart_lines(request.session)
    priced = cart_quote(store=store, lines=lines) if lines else None
    # The limits this cart draws on, with what is left of each for one purchase; the age waits for the ID.
    limits, problems = [], []
    if priced is not None:
        limits = [
            {
                "label": usage.label[:1].upper() + usage.label[1:],
                "remaining": quantity_text(max(usage.remaining, 0)),
                "limit": quantity_text(usage.limit),
                "unit": usage.unit,
                "over": usage.over,
            }
            for usage in priced.verdict.limits
            if usage.in_cart > 0
        ]
        problems = [v.message for v in priced.verdict.violations if v.code != "age_unknown"]
    return {"cart": priced, "limits": limits, "problems": problems, "cart_count": len(lines)}


@kiosk_view
def kiosk_menu(request):
    store = request.kiosk.store
    filters = _filters(request)
    products = kiosk_products(store=store, category=filters["category"], search=filters["q"])
    in_cart = dict(cart_lines(request.session))
    for product in products:
        product.in_cart = in_cart.get(product.pk, 0)
    return render(
        request,
        "pos/kiosk/menu.html",
        {
            "store": store,
            "products": products,
            "categories": kiosk_categories(store=store),
            "filters": filters,
            "menu_url": _menu_url(filters),
            **_cart_context(request),
        },
    )


@require_POST
@kiosk_view
def kiosk_cart(request):
    filters = _filters(request)
    try:
        product_id = int(request.POST.get("product", ""))
        quantity = Decimal(request.POST.get("quantity", ""))
        if not quantity.is_finite() or quantity < 0 or quantity != quantity.to_integral_value():
            raise ValueError
    except (ValueError, InvalidOperation):
        return redirect(_menu_url(filters))
    store = request.kiosk.store
    if (
        quantity > 0
        and not Product.objects.filter(pk=product_id, organization_id=store.organization_id).exists()
    ):
        return redirect(_menu_url(filters))
    try:
        cart_set(request.session, product_id=product_id, quantity=quantity)
    except ApplicationError:
        pass  # a full cart keeps what it has; the page shows the count
    back = request.POST.get("back")
    return redirect(reverse("pos:kiosk_checkout") if back == "checkout" else _menu_url(filters))


# --- Checkout and confirmation -------------------------------------------------------------------------------------


class KioskCheckoutForm(ApplicationErrorForm):
    first_name = forms.CharField(max_length=100, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    last_name = forms.CharField(max_length=100, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    phone = forms.CharField(
        max_length=32,
        label="Mobile phone",
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel", "autocomplete": "off"}),
        help_text="We text you when your order is ready.",
    )
    date_of_birth = DateOfBirthField(label="Date of birth")
    medical_card = forms.CharField(
        max_length=60,
        required=False,
        label="Medical card number (patients only)",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    idempotency_key = forms.CharField(max_length=100, widget=forms.HiddenInput)


@kiosk_view
def kiosk_checkout(request):
    store = request.kiosk.store
    if request.method == "POST":
        form = KioskCheckoutForm(request.POST)
        status = 400
        if form.is_valid():
            values = form.cleaned_data
            try:
                order = kiosk_order_place(
                    kiosk=request.kiosk,
                    customer_data=KioskCustomerInput(
                        first_name=values["first_name"],
                        last_name=values["last_name"],
                        phone=values["phone"],
                        date_of_birth=values["date_of_birth"],
                        medical_card=values["medical_card"],
                    ),
                    lines=cart_lines(request.session),
                    idempotency_key=f"kiosk-{values['idempotency_key']}",
                )
            except ApplicationError as error:
                form.add_application_error(error)
                status = error.status if error.status in (400, 409, 422) else 400
            else:
                request.session.pop(CART_KEY, None)
                request.session[LAST_ORDER_KEY] = order.pk
                return redirect("pos:kiosk_done")
    else:
        form = KioskCheckoutForm(initial={"idempotency_key": uuid.uuid4().hex})
        status = 200
    return render(
        request,
        "pos/kiosk/checkout.html",
        {"store": store, "form": form, **_cart_context(request)},
        status=status,
    )


@kiosk_view
def kiosk_done(request):
    order = (
        PickupOrder.objects.filter(pk=request.session.get(LAST_ORDER_KEY), store=request.kiosk.store)
        .prefetch_related("lines__product")
        .first()
    )
    if order is None:
        return HttpResponseRedirect(reverse("pos:kiosk_menu"))
    return render(request, "pos/kiosk/done.html", {"store": request.kiosk.store, "order": order})
