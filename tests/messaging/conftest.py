# Messaging reacts to sales: the point of sale's fixtures (a register with its drawer, a product in stock, an ID check).
from tests.pos.conftest import adult_id, package, product, register  # noqa: F401
