"""Inventory's business-rule errors."""

from decimal import Decimal

from dispensary.errors import ApplicationError, Conflict, ValidationFailed
from inventory.models import quantity_text


class InsufficientStock(ApplicationError):
    code = "insufficient_stock"
    status = 409

    def __init__(self, *, product_id: int, product_name: str, requested: Decimal, available: Decimal):
        super().__init__(
            f"Only {quantity_text(available)} of {product_name} available; {quantity_text(requested)} requested.",
            details={
                "product_id": product_id,
                "product": product_name,
                "requested": quantity_text(requested),
                "available": quantity_text(available),
            },
        )
        self.product_id = product_id
        self.requested = requested
        self.available = available


class PackageNotSellable(ApplicationError):
    code = "package_not_sellable"
    status = 422


class PackageTagTaken(Conflict):
    code = "package_tag_taken"

    def __init__(self, tag: str):
        super().__init__(f"Package {tag} is already in this store's stock.", details={"tag": tag})


class InvalidQuantity(ValidationFailed):
    code = "invalid_quantity"

    def __init__(self, message: str, quantity):
        super().__init__(message, details={"quantity": [message], "value": str(quantity)})
