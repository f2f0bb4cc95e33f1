"""Inventory screens, mounted under /inventory/."""

from django.urls import path

from inventory.views import counts, recalls, receiving, stock, waste

app_name = "inventory"

urlpatterns = [
    path("", stock.stock_index, name="stock_index"),
    path("packages/<id:pk>/", stock.package_detail, name="package_detail"),
    path("packages/<id:pk>/adjust/", stock.package_adjust_view, name="package_adjust"),
    path("packages/<id:pk>/waste/", stock.package_waste_view, name="package_waste"),
    path("packages/<id:pk>/move/", stock.package_move_view, name="package_move"),
    path(
        "packages/<id:pk>/lab-results/<id:result_pk>/coa/",
        stock.lab_result_document,
        name="lab_result_document",
    ),
    path("receiving/", receiving.transfer_index, name="transfer_index"),
    path("receiving/upload/", receiving.transfer_upload, name="transfer_upload"),
    path("receiving/<id:pk>/", receiving.transfer_detail, name="transfer_detail"),
    path("receiving/<id:pk>/scan/", receiving.transfer_scan_view, name="transfer_scan"),
    path(
        "receiving/<id:pk>/lines/<id:line_pk>/decide/",
        receiving.transfer_line_decide_view,
        name="transfer_line_decide",
    ),
    path("receiving/<id:pk>/complete/", receiving.transfer_complete_view, name="transfer_complete"),
    path("waste/", waste.waste_index, name="waste_index"),
    path("counts/", counts.count_index, name="count_index"),
    path("counts/open/", counts.count_open_view, name="count_open"),
    path("counts/<id:pk>/", counts.count_sheet, name="count_sheet"),
    path("counts/<id:pk>/enter/", counts.count_enter_view, name="count_enter"),
    path("counts/<id:pk>/review/", counts.count_review, name="count_review"),
    path("counts/<id:pk>/approve/", counts.count_approve_view, name="count_approve"),
    path("recalls/", recalls.recall_index, name="recall_index"),
    path("recalls/open/", recalls.recall_open_view, name="recall_open"),
    path("recalls/<id:pk>/", recalls.recall_detail, name="recall_detail"),
    path("recalls/<id:pk>/hold/", recalls.recall_hold_view, name="recall_hold"),
    path("recalls/<id:pk>/stock.csv", recalls.recall_stock_csv, name="recall_stock_csv"),
    path("recalls/<id:pk>/sold.csv", recalls.recall_sold_csv, name="recall_sold_csv"),
]
