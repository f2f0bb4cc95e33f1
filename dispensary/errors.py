"""Application errors: business-rule violations with a stable code and structured details.

The API turns them into `{code, message, details}`; HTML views show the message on the form."""


class ApplicationError(Exception):
    code = "application_error"
    status = 400

    def __init__(self, message: str, *, details: dict | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}
        if code:
            self.code = code


class ValidationFailed(ApplicationError):
    """Input that cannot be accepted; details maps field names to lists of messages."""

    code = "invalid"
    status = 400


class NotFound(ApplicationError):
    code = "not_found"
    status = 404


class PermissionDenied(ApplicationError):
    code = "permission_denied"
    status = 403


class Conflict(ApplicationError):
    code = "conflict"
    status = 409


class InvalidPhoneNumber(ValidationFailed):
    code = "invalid_phone"

    def __init__(self, raw: str):
        super().__init__(
            f"{raw!r} is not a valid phone number.",
            details={"phone": [f"{raw!r} is not a valid phone number."]},
        )


class DuplicateCustomer(Conflict):
    code = "duplicate_customer"

    def __init__(self, phone: str, customer_id: int):
        super().__init__(
            f"A customer with phone {phone} already exists.",
            details={"phone": phone, "customer_id": customer_id},
        )
