"""The point of sale's HTML views, one module per screen."""
