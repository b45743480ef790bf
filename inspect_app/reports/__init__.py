"""Documents: rectification notices, visit reports and period bulletins, as HTML and PDF."""
