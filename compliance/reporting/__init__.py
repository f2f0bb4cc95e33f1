"""Compliance reporting: the sync queue of reports to the state, reports for regulators, the audit center.
It reacts to other apps' events and may read everything below it."""
