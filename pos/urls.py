from django.urls import path

from pos import kiosk_views
from pos.views import counter as views
from pos.views import drawers, pins, profiles, queue, receipts, sales
from pos.views import pickup as pickup_views
from pos.views import promotions as promotion_views
from pos.views import register as register_views

app_name = "pos"

urlpatterns = [
    path("", views.checkout, name="checkout"),
    path("lookup/", views.customer_lookup, name="customer_lookup"),
    path("customers/new/", views.customer_new, name="customer_new"),
    path("sales/<id:pk>/receipt/", receipts.receipt, name="receipt"),
    path("sales/<id:pk>/receipt/send/", receipts.receipt_send, name="receipt_send"),
    path("customers/<id:pk>/profile/", profiles.customer_profile, name="customer_profile"),
    path("customers/<id:pk>/consent/", profiles.consent, name="consent"),
    path(
        "customers/<id:pk>/consent/history.<str:export>",
        profiles.consent_history,
        name="consent_history",
    ),
]

# The check-in queue: the door page, the budtenders' buttons and the lobby display.
urlpatterns += [
    path("queue/", queue.queue_door, name="queue"),
    path("queue/live/", queue.queue_live, name="queue_live"),
    path("queue/lookup/", queue.queue_lookup, name="queue_lookup"),
    path("queue/customers/new/", queue.queue_customer_new, name="queue_customer_new"),
    path("queue/check-in/", queue.queue_check_in_view, name="queue_check_in"),
    path("queue/pickups/<id:order_id>/arrived/", queue.queue_pickup_arrived, name="queue_pickup_arrived"),
    path("queue/next/", queue.queue_next, name="queue_next"),
    path("queue/<id:entry_id>/serve/", queue.queue_serve, name="queue_serve"),
    path("queue/<id:entry_id>/done/", queue.queue_done, name="queue_done"),
    path("queue/<id:entry_id>/left/", queue.queue_left, name="queue_left"),
    path("queue/display/", queue.queue_display, name="queue_display"),
    path("queue/display/board/", queue.queue_display_board, name="queue_display_board"),
]

# Cash drawers, manager PINs, and the sales screens with voids and refunds.
urlpatterns += [
    path("drawers/", drawers.drawer_index, name="drawer_index"),
    path("drawers/open/", drawers.drawer_open_view, name="drawer_open"),
    path("drawers/history/", drawers.drawer_history, name="drawer_history"),
    path("drawers/<id:pk>/", drawers.drawer_session, name="drawer_session"),
    path("drawers/<id:pk>/movements/", drawers.drawer_movement_view, name="drawer_movement"),
    path("drawers/<id:pk>/close/", drawers.drawer_close_view, name="drawer_close"),
    path("pin/", pins.manager_pin, name="manager_pin"),
    path("sales/", sales.sale_index, name="sale_index"),
    path("sales/<id:pk>/", sales.sale_detail, name="sale_detail"),
    path("sales/<id:pk>/void/", sales.sale_void_view, name="sale_void"),
    path("sales/<id:pk>/refund/", sales.sale_refund_view, name="sale_refund"),
    path("pickups/", pickup_views.pickup_orders, name="pickup_orders"),
    path("pickups/<id:order_id>/cancel/", pickup_views.pickup_order_cancel_view, name="pickup_order_cancel"),
    path("pickups/<id:order_id>/ready/", pickup_views.pickup_order_ready_view, name="pickup_order_ready"),
]

# The budtender's register (checkout screen).
urlpatterns += [
    path("register/", register_views.register_screen, name="register"),
    path("register/choose/", register_views.register_choose, name="register_choose"),
    path("register/carts/new/", register_views.register_cart_new, name="register_cart_new"),
    path("register/carts/<id:cart_id>/", register_views.register_cart, name="register_cart"),
    path(
        "register/carts/<id:cart_id>/customer/",
        register_views.register_customer_lookup,
        name="register_customer_lookup",
    ),
    path(
        "register/carts/<id:cart_id>/customer/type/",
        register_views.register_customer_type,
        name="register_customer_type",
    ),
    path(
        "register/carts/<id:cart_id>/customer/anonymous/",
        register_views.register_customer_anonymous,
        name="register_customer_anonymous",
    ),
    path("register/carts/<id:cart_id>/id/", register_views.register_id_verify, name="register_id_verify"),
    path("register/carts/<id:cart_id>/scan/", register_views.register_scan, name="register_scan"),
    path("register/carts/<id:cart_id>/search/", register_views.register_search, name="register_search"),
    path("register/carts/<id:cart_id>/lines/", register_views.register_line_add, name="register_line_add"),
    path(
        "register/carts/<id:cart_id>/lines/<id:line_id>/quantity/",
        register_views.register_line_quantity,
        name="register_line_quantity",
    ),
    path(
        "register/carts/<id:cart_id>/lines/<id:line_id>/remove/",
        register_views.register_line_remove,
        name="register_line_remove",
    ),
    path(
        "register/carts/<id:cart_id>/lines/<id:line_id>/override/",
        register_views.register_line_override,
        name="register_line_override",
    ),
    path("register/carts/<id:cart_id>/coupons/", register_views.register_coupon, name="register_coupon"),
    path(
        "register/carts/<id:cart_id>/caregiver/",
        register_views.register_caregiver,
        name="register_caregiver",
    ),
    path(
        "register/carts/<id:cart_id>/promotions/",
        register_views.register_promotion,
        name="register_promotion",
    ),
    path("register/carts/<id:cart_id>/rewards/", register_views.register_reward, name="register_reward"),
    path("register/carts/<id:cart_id>/employee/", register_views.register_employee, name="register_employee"),
    path("register/carts/<id:cart_id>/veteran/", register_views.register_veteran, name="register_veteran"),
    path("register/carts/<id:cart_id>/cancel/", register_views.register_cancel, name="register_cancel"),
    path("register/carts/<id:cart_id>/complete/", register_views.register_complete, name="register_complete"),
]

# Managers' settings: promotions, coupon codes and their results, the loyalty program (their own organization).
urlpatterns += [
    path("settings/promotions/", promotion_views.promotion_index, name="promotion_index"),
    path("settings/promotions/new/", promotion_views.promotion_new, name="promotion_new"),
    path("settings/promotions/<id:pk>/", promotion_views.promotion_edit, name="promotion_edit"),
    path(
        "settings/promotions/<id:pk>/deactivate/",
        promotion_views.promotion_deactivate_view,
        name="promotion_deactivate",
    ),
    path("settings/coupons/", promotion_views.coupon_index, name="coupon_index"),
    path("settings/coupons/new/", promotion_views.coupon_new, name="coupon_new"),
    path("settings/coupons/generate/", promotion_views.coupon_generate, name="coupon_generate"),
    path("settings/coupons/generated/", promotion_views.coupon_generated, name="coupon_generated"),
    path("settings/coupons/generated.csv", promotion_views.coupon_generated_csv, name="coupon_generated_csv"),
    path(
        "settings/coupons/<id:pk>/deactivate/",
        promotion_views.coupon_deactivate_view,
        name="coupon_deactivate",
    ),
    path("settings/coupons/results/", promotion_views.coupon_results, name="coupon_results"),
    path("settings/loyalty/", promotion_views.loyalty_program, name="loyalty_program"),
    path(
        "settings/loyalty/tiers/",
        promotion_views.loyalty_rows,
        {"kind": "loyaltytier"},
        name="loyalty_loyaltytier",
    ),
    path(
        "settings/loyalty/tiers/<id:pk>/",
        promotion_views.loyalty_row_edit,
        {"kind": "loyaltytier"},
        name="loyalty_loyaltytier_edit",
    ),
    path(
        "settings/loyalty/multipliers/",
        promotion_views.loyalty_rows,
        {"kind": "pointsmultiplier"},
        name="loyalty_pointsmultiplier",
    ),
    path(
        "settings/loyalty/multipliers/<id:pk>/",
        promotion_views.loyalty_row_edit,
        {"kind": "pointsmultiplier"},
        name="loyalty_pointsmultiplier_edit",
    ),
    path(
        "settings/loyalty/rewards/", promotion_views.loyalty_rows, {"kind": "reward"}, name="loyalty_reward"
    ),
    path(
        "settings/loyalty/rewards/<id:pk>/",
        promotion_views.loyalty_row_edit,
        {"kind": "reward"},
        name="loyalty_reward_edit",
    ),
]

# The in-store kiosk (a tablet in kiosk mode for one store).
urlpatterns += [
    path("kiosk/start/", kiosk_views.kiosk_start, name="kiosk_start"),
    path("kiosk/", kiosk_views.kiosk_menu, name="kiosk_menu"),
    path("kiosk/cart/", kiosk_views.kiosk_cart, name="kiosk_cart"),
    path("kiosk/checkout/", kiosk_views.kiosk_checkout, name="kiosk_checkout"),
    path("kiosk/done/", kiosk_views.kiosk_done, name="kiosk_done"),
    path("kiosk/exit/", kiosk_views.kiosk_exit, name="kiosk_exit"),
]
