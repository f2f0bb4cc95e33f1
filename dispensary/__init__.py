"""Core of the dispensary platform: settings, organizations, stores, staff, customers, audit and events."""

from dispensary.celery import app as celery_app

__all__ = ["celery_app"]
