"""The point of sale's business-rule errors."""

from dispensary.errors import ApplicationError, Conflict, PermissionDenied, ValidationFailed


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


class SaleChangeRefused(ApplicationError):
    """A void or refund the state's records cannot take (a sale reported as part of a delivery record)."""

    code = "sale_change_refused"
    status = 409


class RefundInvalid(ValidationFailed):
    code = "refund_invalid"


class ApprovalRequired(PermissionDenied):
    code = "approval_required"


# --- Cash drawers ---------------------------------------------------------------------------------------------


class DrawerAlreadyOpen(Conflict):
    """The register's drawer is already open: one session per register at a time."""

    code = "drawer_already_open"


class DrawerNotOpen(Conflict):
    code = "drawer_not_open"


class DrawerInvalid(ValidationFailed):
    code = "drawer_invalid"


class CouponInvalid(ValidationFailed):
    """A coupon code or a reward asked for cannot be used on this sale (the reason is in the message)."""

    code = "coupon_invalid"


class QuoteChanged(Conflict):
    """Prices, promotions or the customer's points moved between the quote and the completion, and the total
    with them: the budtender shows the new total before taking payment."""

    code = "quote_changed"
