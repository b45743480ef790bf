"""Photo evidence: validated by content, stamped, hashed, stored privately, served with checks."""
