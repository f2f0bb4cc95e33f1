"""Messages sent, for support: read-only, as they are facts of the past."""

from django.contrib import admin

from dispensary.admin import ReadOnlyAdmin
from messaging.models import OutboundMessage


@admin.register(OutboundMessage)
class OutboundMessageAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "channel", "purpose", "to", "status", "provider", "store", "organization"]
    list_filter = ["channel", "purpose", "status", "organization"]
    search_fields = ["to", "reference", "provider_message_id", "source_event"]
    date_hierarchy = "created_at"
    list_select_related = ["organization", "store"]
    raw_id_fields = ["customer"]
