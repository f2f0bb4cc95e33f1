from django.urls import path

from delivery import (
    fleet_views,
    views,
    views_analytics,
    views_closing,
    views_dispatch,
    views_driver,
    views_fleet_map,
    views_orders,
    views_proof,
    views_tracking,
    views_trips,
)

app_name = "delivery"

urlpatterns = [
    path("", views.driver_home, name="driver_home"),
    path("zones/", views.zones_current, name="zones_current"),
    path("stores/<int:store_id>/zones/", views.zones, name="zones"),
    path("stores/<int:store_id>/zones/<int:zone_id>/", views.zone_edit, name="zone_edit"),
    path("stores/<int:store_id>/zones/import/", views.zones_import, name="zones_import"),
    path("stores/<int:store_id>/zones/check/", views.point_check, name="point_check"),
    path("stores/<int:store_id>/places/", views.exclusion_add, name="exclusion_add"),
    path(
        "stores/<int:store_id>/places/<int:place_id>/remove/", views.exclusion_remove, name="exclusion_remove"
    ),
    path("fleet/", fleet_views.fleet_current, name="fleet_current"),
    path("fleet/stores/<int:store_id>/drivers/", fleet_views.drivers, name="drivers"),
    path("fleet/stores/<int:store_id>/drivers/<int:driver_id>/", fleet_views.driver_edit, name="driver_edit"),
    path("fleet/stores/<int:store_id>/vehicles/", fleet_views.vehicles, name="vehicles"),
    path(
        "fleet/stores/<int:store_id>/vehicles/<int:vehicle_id>/",
        fleet_views.vehicle_edit,
        name="vehicle_edit",
    ),
    path("fleet/stores/<int:store_id>/shifts/", fleet_views.shifts, name="shifts"),
    path("fleet/stores/<int:store_id>/shifts/<int:shift_id>/", fleet_views.shift_edit, name="shift_edit"),
    path(
        "fleet/stores/<int:store_id>/shifts/<int:shift_id>/cancel/",
        fleet_views.shift_cancel,
        name="shift_cancel",
    ),
    path("shifts/<int:shift_id>/clock-in/", fleet_views.shift_clock_in, name="shift_clock_in"),
    path("shifts/<int:shift_id>/clock-out/", fleet_views.shift_clock_out, name="shift_clock_out"),
    *views_orders.urlpatterns,
    *views_trips.urlpatterns,
    path("dispatch/", views_dispatch.dispatch_current, name="dispatch_current"),
    path("stores/<int:store_id>/dispatch/", views_dispatch.dispatch_board, name="dispatch"),
    path("stores/<int:store_id>/dispatch/plan/", views_dispatch.dispatch_plan_view, name="dispatch_plan"),
    path(
        "stores/<int:store_id>/dispatch/assign/", views_dispatch.dispatch_assign_view, name="dispatch_assign"
    ),
    path(
        "stores/<int:store_id>/dispatch/remove/", views_dispatch.dispatch_remove_view, name="dispatch_remove"
    ),
    path(
        "stores/<int:store_id>/dispatch/trips/<int:trip_id>/<str:action>/",
        views_dispatch.dispatch_trip_action,
        name="dispatch_trip",
    ),
    *views_driver.urlpatterns,
    *views_closing.urlpatterns,
    *views_proof.urlpatterns,
    *views_analytics.urlpatterns,
    *views_fleet_map.urlpatterns,
    *views_tracking.urlpatterns,
]
