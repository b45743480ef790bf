"""In-app notifications: a badge and a list."""
