"""The point of sale's business-rule errors."""

from dispensary.errors import ApplicationError, PermissionDenied, ValidationFailed


class PurchaseLimitExceeded(ApplicationError):
    """The cart, with the customer's purchases in the window, breaks a purchase limit. Nothing overrides it."""

    code = "purchase_limit_exceeded"
    status = 422


class SaleNotAllowed(ApplicationError):
    """The customer may not buy as this customer type (no medical card, no such sales in the state)."""

    code = "sale_not_allowed"
    status = 422


class TenderInvalid(ValidationFailed):
    code = "tender_invalid"


class VoidNotAllowed(ApplicationError):
    code = "void_not_allowed"
    status = 409


class RefundInvalid(ValidationFailed):
    code = "refund_invalid"


class ApprovalRequired(PermissionDenied):
    code = "approval_required"


class CouponInvalid(ValidationFailed):
    """A coupon code or a reward asked for cannot be used on this sale (the reason is in the message)."""

    code = "coupon_invalid"
