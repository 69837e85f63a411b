"""Projections: current (or past) state computed by replaying events in order."""
