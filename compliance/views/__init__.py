"""The compliance pages: the state sync queue, anti-looping alerts and medical patients."""
