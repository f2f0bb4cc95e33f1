"""API scopes an API client can be granted. Apps add theirs here as they gain endpoints."""

SCOPES: dict[str, str] = {
    "stores:read": "Read the stores the client may reach.",
    "customers:read": "Read customers and look them up by phone.",
    "customers:write": "Create and change customers.",
    "inventory:read": "Read products, packages and stock movements.",
    "inventory:write": "Receive transfers and adjust stock.",
    "menu:read": "Read the public menu feed (products with available quantity, price and potency).",
    "sales:read": "Read sales with their lines, discounts, taxes, tenders and refunds.",
    "orders:read": "Read pickup orders.",
    "orders:write": "Place and cancel pickup orders.",
    "hooks:manage": "Subscribe to events (REST hooks); each event also needs its read scope.",
    "loyalty:write": "Add loyalty points to a customer.",
    "messages:send": "Send a customer a transactional message (never marketing).",
}
