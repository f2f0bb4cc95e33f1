# Messaging reacts to sales: the point of sale's fixtures (a register with its drawer, a product in stock, an ID
# check). Inbound texts, the consent ledger and the inbox: the store's number as a sender, Ada, signed webhooks.
# Campaigns: two stores in two time zones (west, east) and an owner of both.
from tests.messaging.campaign_helpers import campaign_settings, east, owner, west  # noqa: F401
from tests.messaging.inbound_helpers import ada, shop, sms_settings  # noqa: F401

# Klaviyo: the local fake on a free port and the organization's account.
from tests.messaging.klaviyo_helpers import klaviyo, klaviyo_fake  # noqa: E402, F401

# Alpine IQ and Springbig: the fakes on free ports and each vendor's settings pointing at its fake.
from tests.messaging.loyalty_sync_helpers import (  # noqa: F401, E402, I001
    alpine,
    alpine_fake,
    member,
    program,
    springbig,
    springbig_fake,
)
from tests.pos.conftest import adult_id, package, product, register  # noqa: F401
