"""Traceability providers: the state's track-and-trace system (Metrc) behind one interface."""
