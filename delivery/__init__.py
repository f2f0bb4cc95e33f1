"""Delivery: orders, zones, drivers and vehicles, routes, manifests, GPS and proof of delivery."""
