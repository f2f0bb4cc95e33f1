"""Every write of inventory. Stock services (receive, allocate, release, commit, sell, adjust) live in
`stock`; receiving against manifests in `receiving`."""

from inventory.services.stock import (
    SELLING_LOCATIONS,
    AdjustmentReason,
    PackagePick,
    Reference,
    StockMoved,
    StockPicks,
    StockRequest,
    StockTake,
    fefo_key,
    package_adjust,
    package_receive,
    stock_allocate,
    stock_commit,
    stock_pick,
    stock_release,
    stock_return,
    stock_sell,
    stock_sell_picked,
)

__all__ = [
    "SELLING_LOCATIONS",
    "AdjustmentReason",
    "PackagePick",
    "Reference",
    "StockMoved",
    "StockPicks",
    "StockRequest",
    "StockTake",
    "fefo_key",
    "package_adjust",
    "package_receive",
    "stock_allocate",
    "stock_commit",
    "stock_pick",
    "stock_release",
    "stock_return",
    "stock_sell",
    "stock_sell_picked",
]
