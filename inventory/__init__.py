"""Seed-to-sale inventory: catalog, tagged packages, the stock ledger, receiving, waste, counts, recalls."""
