"""The point of sale's API: sales (read), pickup orders, and a customer's purchases and loyalty."""
