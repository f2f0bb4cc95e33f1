# Messaging reacts to sales: the point of sale's fixtures (a register with its drawer, a product in stock, an ID
# check). Inbound texts, the consent ledger and the inbox: the store's number as a sender, Ada, signed webhooks.
# Campaigns: two stores in two time zones (west, east) and an owner of both.
from tests.messaging.campaign_helpers import campaign_settings, east, owner, west  # noqa: F401
from tests.messaging.inbound_helpers import ada, shop, sms_settings  # noqa: F401
from tests.pos.conftest import adult_id, package, product, register  # noqa: F401
