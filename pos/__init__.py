"""Point of sale: registers and drawers, the check-in queue, carts, sales, refunds, discounts, loyalty."""
