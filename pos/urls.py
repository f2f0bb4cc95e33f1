from django.urls import path

from pos.views import counter as views
from pos.views import drawers, pins, profiles, queue, receipts, sales
from pos.views import pickup as pickup_views

app_name = "pos"

urlpatterns = [
    path("", views.checkout, name="checkout"),
    path("lookup/", views.customer_lookup, name="customer_lookup"),
    path("customers/new/", views.customer_new, name="customer_new"),
    path("sales/<int:pk>/receipt/", receipts.receipt, name="receipt"),
    path("sales/<int:pk>/receipt/send/", receipts.receipt_send, name="receipt_send"),
    path("customers/<int:pk>/profile/", profiles.customer_profile, name="customer_profile"),
    path("customers/<int:pk>/consent/", profiles.consent, name="consent"),
]

# The check-in queue: the door page, the budtenders' buttons and the lobby display.
urlpatterns += [
    path("queue/", queue.queue_door, name="queue"),
    path("queue/live/", queue.queue_live, name="queue_live"),
    path("queue/lookup/", queue.queue_lookup, name="queue_lookup"),
    path("queue/customers/new/", queue.queue_customer_new, name="queue_customer_new"),
    path("queue/check-in/", queue.queue_check_in_view, name="queue_check_in"),
    path("queue/pickups/<int:order_id>/arrived/", queue.queue_pickup_arrived, name="queue_pickup_arrived"),
    path("queue/next/", queue.queue_next, name="queue_next"),
    path("queue/<int:entry_id>/serve/", queue.queue_serve, name="queue_serve"),
    path("queue/<int:entry_id>/done/", queue.queue_done, name="queue_done"),
    path("queue/<int:entry_id>/left/", queue.queue_left, name="queue_left"),
    path("queue/display/", queue.queue_display, name="queue_display"),
    path("queue/display/board/", queue.queue_display_board, name="queue_display_board"),
]

# Cash drawers, manager PINs, and the sales screens with voids and refunds.
urlpatterns += [
    path("drawers/", drawers.drawer_index, name="drawer_index"),
    path("drawers/open/", drawers.drawer_open_view, name="drawer_open"),
    path("drawers/history/", drawers.drawer_history, name="drawer_history"),
    path("drawers/<int:pk>/", drawers.drawer_session, name="drawer_session"),
    path("drawers/<int:pk>/movements/", drawers.drawer_movement_view, name="drawer_movement"),
    path("drawers/<int:pk>/close/", drawers.drawer_close_view, name="drawer_close"),
    path("pin/", pins.manager_pin, name="manager_pin"),
    path("sales/", sales.sale_index, name="sale_index"),
    path("sales/<int:pk>/", sales.sale_detail, name="sale_detail"),
    path("sales/<int:pk>/void/", sales.sale_void_view, name="sale_void"),
    path("sales/<int:pk>/refund/", sales.sale_refund_view, name="sale_refund"),
    path("pickups/", pickup_views.pickup_orders, name="pickup_orders"),
    path("pickups/<int:order_id>/cancel/", pickup_views.pickup_order_cancel_view, name="pickup_order_cancel"),
]
