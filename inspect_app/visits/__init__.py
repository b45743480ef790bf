"""Visits: scheduling, filling a checklist on a phone, submitting, star ratings."""
