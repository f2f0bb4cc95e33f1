"""The attribution piece's manager pages, in the "messaging" namespace: the results page."""

from messaging import views_results

urlpatterns = [*views_results.urlpatterns]
