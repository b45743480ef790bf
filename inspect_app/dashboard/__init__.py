"""Home pages per role, boards for managers."""
