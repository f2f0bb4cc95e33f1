"""Django admin for the core. Writes with rules (API clients, dead-letter retries, token revocation) go
through the services; the audit log and the outbox are read-only; secrets are never shown after creation."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Q

from dispensary import services
from dispensary.errors import InvalidPhoneNumber
from dispensary.inputs import id_parse
from dispensary.models import (
    ApiClient,
    AuditRecord,
    Customer,
    EventDelivery,
    Organization,
    OutboxEvent,
    StaffToken,
    Store,
    User,
)
from dispensary.phones import phone_normalize
from dispensary.scopes import SCOPES


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows that are facts of the past: they can be read, never added, changed or deleted here."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "code", "jurisdiction", "time_zone", "is_active"]
    list_filter = ["organization", "jurisdiction", "is_active"]
    search_fields = ["name", "code", "license_adult_use", "license_medical", "city"]
    list_select_related = ["organization"]
    fieldsets = [
        (None, {"fields": ["organization", "name", "code", "is_active"]}),
        ("Licences", {"fields": ["license_adult_use", "license_medical", "jurisdiction"]}),
        (
            "Location",
            {
                "fields": [
                    "address_line1",
                    "address_line2",
                    "city",
                    "region",
                    "postal_code",
                    "country",
                    "latitude",
                    "longitude",
                    "phone",
                    "time_zone",
                ]
            },
        ),
        ("Hours", {"fields": ["opening_hours"], "description": 'For example {"mon": [["09:00", "21:00"]]}.'}),
    ]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "first_name", "last_name", "organization", "roles", "is_active", "is_staff"]
    list_filter = ["organization", "groups", "is_active", "is_staff", "is_superuser"]
    list_select_related = ["organization"]
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        ("Person", {"fields": ["first_name", "last_name", "email"]}),
        (
            "Organization and roles",
            {
                "fields": ["organization", "groups"],
                "description": "Roles are groups. Stores a member may work at are granted per store "
                "(object permission “Can work at this store”).",
            },
        ),
        ("Access", {"fields": ["is_active", "is_staff", "is_superuser", "user_permissions"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["username", "organization", "password1", "password2"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description="Roles")
    def roles(self, obj: User) -> str:
        return ", ".join(group.name for group in obj.groups.all()) or "—"


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["__str__", "phone", "customer_type", "organization", "home_store", "created_at"]
    list_filter = ["organization", "customer_type"]
    search_fields = ["first_name", "last_name", "email", "phone"]
    search_help_text = "Name, email, or phone in any format."
    list_select_related = ["organization", "home_store"]
    readonly_fields = ["created_at", "updated_at"]
    autocomplete_fields = ["home_store"]

    def get_search_results(self, request, queryset, search_term):
        """A phone typed in any format is normalized to E.164 before it is matched."""
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        try:
            phone = phone_normalize(search_term)
        except InvalidPhoneNumber:
            return results, may_have_duplicates
        return results | queryset.filter(Q(phone=phone)), may_have_duplicates


@admin.register(AuditRecord)
class AuditRecordAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "actor_label",
        "action",
        "object_type",
        "object_id",
        "organization",
        "store",
    ]
    list_filter = ["action", "object_type", "organization"]
    search_fields = ["actor_label", "action", "object_id", "object_repr"]
    date_hierarchy = "created_at"
    list_select_related = ["organization", "store"]


class EventDeliveryInline(admin.TabularInline):
    model = EventDelivery
    extra = 0
    can_delete = False
    fields = ["handler", "status", "attempts", "last_attempt_at", "next_attempt_at", "last_error"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyAdmin):
    list_display = ["id", "name", "version", "organization", "created_at"]
    list_filter = ["name", "organization"]
    search_fields = ["name", "uuid"]
    date_hierarchy = "created_at"
    inlines = [EventDeliveryInline]


@admin.register(EventDelivery)
class EventDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["id", "event", "handler", "status", "attempts", "last_attempt_at", "next_attempt_at"]
    list_filter = ["status", "handler"]
    search_fields = ["handler", "event__name", "last_error"]
    list_select_related = ["event"]
    actions = ["retry_dead_letters"]

    @admin.action(description="Retry selected dead letters", permissions=["retry"])
    def retry_dead_letters(self, request, queryset):
        retried = skipped = 0
        for delivery in queryset.filter(status=EventDelivery.Status.DEAD):
            services.event_delivery_retry(delivery=delivery, actor=request.user)
            retried += 1
        skipped = queryset.exclude(status=EventDelivery.Status.DEAD).count()
        self.message_user(request, f"{retried} dead letter(s) queued for delivery again.", messages.SUCCESS)
        if skipped:
            self.message_user(
                request, f"{skipped} selected delivery(ies) were not dead letters.", messages.WARNING
            )

    def has_retry_permission(self, request) -> bool:
        return request.user.has_perm("dispensary.retry_eventdelivery")


class ApiClientForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=sorted(SCOPES.items()), widget=forms.CheckboxSelectMultiple, required=False
    )

    class Meta:
        model = ApiClient
        fields = ["organization", "name", "scopes", "stores", "is_active"]

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        organization_id = self._organization_id(user)
        if "organization" in self.fields and user is not None and not user.is_superuser:
            # A member of an organization makes clients of their own organization only.
            self.fields["organization"].queryset = Organization.objects.filter(pk=user.organization_id)
            self.fields["organization"].initial = user.organization_id
        if "stores" in self.fields:
            stores = Store.objects.select_related("organization")
            if organization_id:
                self.fields["stores"].queryset = stores.filter(organization_id=organization_id)
            else:
                # A superuser's new client before an organization is chosen: each store says whose it is.
                self.fields["stores"].queryset = stores.order_by("organization__name", "name")
                self.fields["stores"].label_from_instance = lambda store: (
                    f"{store.organization} · {store.name}"
                )

    def _organization_id(self, user) -> int | None:
        """The organization whose stores the form offers: the client's, the one posted or asked for (the
        admin's ?organization=), or the member's own."""
        if self.instance.pk:
            return self.instance.organization_id
        chosen = self.data.get("organization") or self.initial.get("organization")
        if id_parse(chosen):
            return id_parse(chosen)
        if user is not None and not user.is_superuser:
            return user.organization_id
        return None

    def clean(self):
        cleaned = super().clean()
        organization = cleaned.get("organization")
        stores = cleaned.get("stores") or []
        if organization and any(store.organization_id != organization.pk for store in stores):
            self.add_error("stores", "Choose stores of the client's organization only.")
        return cleaned


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    """New clients are made by api_client_create; the key appears once, in a message, and is never stored."""

    form = ApiClientForm
    list_display = ["name", "organization", "key_prefix", "is_active", "created_at", "last_used_at"]
    list_filter = ["organization", "is_active"]
    search_fields = ["name", "key_prefix"]
    readonly_fields = ["key_prefix", "created_by", "created_at", "last_used_at"]
    filter_horizontal = ["stores"]
    actions = ["revoke"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)

        class FormForUser(form):
            def __init__(self, *args, **form_kwargs):
                super().__init__(*args, user=request.user, **form_kwargs)

        return FormForUser

    def get_queryset(self, request):
        clients = super().get_queryset(request).select_related("organization")
        if request.user.is_superuser:
            return clients
        return clients.filter(organization_id=request.user.organization_id)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        # After creation only the name, scopes and stores are edited here; revoking is an action.
        return [*self.readonly_fields, "organization", "is_active"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["organization", "name", "scopes", "stores"]
        return [
            "organization",
            "name",
            "key_prefix",
            "scopes",
            "stores",
            "is_active",
            "created_by",
            "created_at",
        ]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        # The form has checked what api_client_create checks, so an error here is a bug worth a 500.
        client, key = services.api_client_create(
            organization=form.cleaned_data["organization"],
            actor=request.user,
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            stores=form.cleaned_data["stores"],
        )
        for field in client._meta.concrete_fields:
            setattr(obj, field.attname, getattr(client, field.attname))
        obj._state.adding = False
        obj._state.db = client._state.db
        self.message_user(
            request,
            f"API key for “{client.name}”: {key} — copy it now; it is not stored and cannot be shown again.",
            messages.WARNING,
        )

    def save_related(self, request, form, formsets, change):
        if change:
            super().save_related(request, form, formsets, change)
        # On creation api_client_create has set the stores already.

    @admin.action(description="Revoke selected API clients")
    def revoke(self, request, queryset):
        for client in queryset:
            services.api_client_revoke(client=client, actor=request.user)
        self.message_user(request, f"Revoked {queryset.count()} API client(s).", messages.SUCCESS)


@admin.register(StaffToken)
class StaffTokenAdmin(ReadOnlyAdmin):
    list_display = ["name", "user", "key_prefix", "created_at", "last_used_at", "expires_at"]
    search_fields = ["name", "key_prefix", "user__username"]
    list_select_related = ["user"]
    actions = ["revoke"]

    @admin.action(description="Revoke selected tokens", permissions=["revoke"])
    def revoke(self, request, queryset):
        count = 0
        for token in queryset.select_related("user__organization"):
            services.staff_token_revoke(token=token, actor=request.user)
            count += 1
        self.message_user(request, f"Revoked {count} token(s).", messages.SUCCESS)

    def has_revoke_permission(self, request) -> bool:
        return request.user.has_perm("dispensary.delete_stafftoken")
