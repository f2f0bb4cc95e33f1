from django.urls import path

from delivery import views, views_orders

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
    *views_orders.urlpatterns,
]
