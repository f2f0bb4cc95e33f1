from django.urls import path

from pos.views import counter as views
from pos.views import register as register_views

app_name = "pos"

urlpatterns = [
    path("", views.checkout, name="checkout"),
    path("lookup/", views.customer_lookup, name="customer_lookup"),
    path("customers/new/", views.customer_new, name="customer_new"),
]

# The budtender's register (checkout screen).
urlpatterns += [
    path("register/", register_views.register_screen, name="register"),
    path("register/choose/", register_views.register_choose, name="register_choose"),
    path("register/carts/new/", register_views.register_cart_new, name="register_cart_new"),
    path("register/carts/<int:cart_id>/", register_views.register_cart, name="register_cart"),
    path(
        "register/carts/<int:cart_id>/customer/",
        register_views.register_customer_lookup,
        name="register_customer_lookup",
    ),
    path(
        "register/carts/<int:cart_id>/customer/type/",
        register_views.register_customer_type,
        name="register_customer_type",
    ),
    path(
        "register/carts/<int:cart_id>/customer/anonymous/",
        register_views.register_customer_anonymous,
        name="register_customer_anonymous",
    ),
    path("register/carts/<int:cart_id>/id/", register_views.register_id_verify, name="register_id_verify"),
    path("register/carts/<int:cart_id>/scan/", register_views.register_scan, name="register_scan"),
    path("register/carts/<int:cart_id>/search/", register_views.register_search, name="register_search"),
    path("register/carts/<int:cart_id>/lines/", register_views.register_line_add, name="register_line_add"),
    path(
        "register/carts/<int:cart_id>/lines/<int:line_id>/quantity/",
        register_views.register_line_quantity,
        name="register_line_quantity",
    ),
    path(
        "register/carts/<int:cart_id>/lines/<int:line_id>/remove/",
        register_views.register_line_remove,
        name="register_line_remove",
    ),
    path(
        "register/carts/<int:cart_id>/lines/<int:line_id>/override/",
        register_views.register_line_override,
        name="register_line_override",
    ),
    path("register/carts/<int:cart_id>/coupons/", register_views.register_coupon, name="register_coupon"),
    path("register/carts/<int:cart_id>/cancel/", register_views.register_cancel, name="register_cancel"),
    path(
        "register/carts/<int:cart_id>/complete/", register_views.register_complete, name="register_complete"
    ),
]
