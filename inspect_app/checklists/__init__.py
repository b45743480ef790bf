"""Checklists: definitions loaded from ``forms/``, versioned in the database, scored purely."""
