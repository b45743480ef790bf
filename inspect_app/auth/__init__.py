"""People, roles, login sessions."""
