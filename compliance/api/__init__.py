"""The compliance app's REST API, mounted at /api/v1/compliance/ by dispensary.api.urls."""
