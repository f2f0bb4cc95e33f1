"""Compliance: jurisdiction rules as data, ID and patient checks, traceability (Metrc), reports."""
