"""Messaging: consent, SMS and email providers, templates, flows, segments, campaigns, attribution."""
