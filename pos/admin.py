"""Django admin for the point of sale's configuration: promotions, coupons (with bulk single-use codes) and the
loyalty program. The ledger (points entries, redemptions) can be read here, never written."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm

from dispensary.errors import ApplicationError
from pos.models import (
    Coupon,
    CouponRedemption,
    LoyaltyAccount,
    LoyaltyProgram,
    LoyaltyTier,
    PointsEntry,
    PointsMultiplier,
    Promotion,
    Reward,
)
from pos.services.coupons import MAX_CODES, coupon_codes_generate


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class GenerateCodesForm(ActionForm):
    count = forms.IntegerField(min_value=1, max_value=MAX_CODES, required=False, initial=10)
    prefix = forms.CharField(max_length=12, required=False)


@admin.register(Promotion)
class PromotionAdmin(admin.ModelAdmin):
    list_display = ("name", "organization", "kind", "scope", "value", "customer_group", "automatic", "active")
    list_filter = ("organization", "kind", "scope", "customer_group", "automatic", "stackable", "active")
    search_fields = ("name",)
    filter_horizontal = ("stores", "products")
    action_form = GenerateCodesForm
    actions = ["generate_codes"]

    @admin.action(description="Generate single-use codes (count and prefix above)")
    def generate_codes(self, request, queryset):
        count = int(request.POST.get("count") or 10)
        prefix = request.POST.get("prefix", "")
        for promotion in queryset:
            try:
                codes = coupon_codes_generate(
                    promotion=promotion, count=count, actor=request.user, prefix=prefix
                )
            except ApplicationError as error:
                self.message_user(request, error.message, messages.ERROR)
                return
            shown = ", ".join(coupon.code for coupon in codes[:20])
            more = f" and {len(codes) - 20} more" if len(codes) > 20 else ""
            self.message_user(request, f"{promotion}: {len(codes)} codes ({shown}{more}).", messages.SUCCESS)


class RedemptionInline(admin.TabularInline):
    model = CouponRedemption
    extra = 0
    can_delete = False
    fields = ("sale", "customer", "amount", "message_id", "redeemed_at", "reversed_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Coupon)
class CouponAdmin(admin.ModelAdmin):
    list_display = ("code", "promotion", "uses", "max_uses", "max_uses_per_customer", "valid_until", "active")
    list_filter = ("organization", "active", "promotion")
    search_fields = ("code", "message_id")
    raw_id_fields = ("customer",)
    readonly_fields = ("uses",)
    inlines = [RedemptionInline]

    def save_model(self, request, obj, form, change):
        obj.code = obj.code.strip().upper()
        super().save_model(request, obj, form, change)


@admin.register(LoyaltyProgram)
class LoyaltyProgramAdmin(admin.ModelAdmin):
    list_display = ("organization", "enabled", "points_per_currency_unit", "points_expire_after_days")
    list_filter = ("enabled",)


@admin.register(LoyaltyTier)
class LoyaltyTierAdmin(admin.ModelAdmin):
    list_display = ("name", "organization", "min_spend", "earn_multiplier")
    list_filter = ("organization",)


@admin.register(PointsMultiplier)
class PointsMultiplierAdmin(admin.ModelAdmin):
    list_display = ("name", "organization", "multiplier", "categories", "weekdays", "active")
    list_filter = ("organization", "active")


@admin.register(Reward)
class RewardAdmin(admin.ModelAdmin):
    list_display = ("name", "organization", "points_cost", "kind", "value", "active")
    list_filter = ("organization", "kind", "active")


class PointsEntryInline(admin.TabularInline):
    model = PointsEntry
    extra = 0
    can_delete = False
    fields = ("kind", "points", "remaining", "expires_at", "sale", "reward", "note", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(LoyaltyAccount)
class LoyaltyAccountAdmin(ReadOnlyAdmin):
    list_display = ("customer", "balance", "tier", "updated_at")
    list_filter = ("tier",)
    raw_id_fields = ("customer",)
    inlines = [PointsEntryInline]
