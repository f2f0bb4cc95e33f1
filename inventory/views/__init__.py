"""HTML screens of inventory for managers and stock staff: stock, receiving, waste, counts and recalls."""
