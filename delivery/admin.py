"""Django admin of the delivery app: a store's live tracking thresholds (the rest has its own screens)."""

from django.contrib import admin

from delivery.models import TrackingSettings


@admin.register(TrackingSettings)
class TrackingSettingsAdmin(admin.ModelAdmin):
    list_display = ("store", "off_route_m", "stopped_minutes", "approaching_minutes", "approaching_m")
    list_select_related = ("store",)
