# Messaging reacts to sales: the point of sale's fixtures (a register with its drawer, a product in stock, an ID
# check). Inbound texts, the consent ledger and the inbox: the store's number as a sender, Ada, signed webhooks.
from tests.messaging.inbound_helpers import ada, shop, sms_settings  # noqa: F401

# Klaviyo: the local fake on a free port and the organization's account.
from tests.messaging.klaviyo_helpers import klaviyo, klaviyo_fake  # noqa: E402, F401
from tests.pos.conftest import adult_id, package, product, register  # noqa: F401
