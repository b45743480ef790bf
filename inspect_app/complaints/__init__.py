"""Complaints (投诉), callbacks (回访) and accountability (问责): what customers report, who owns it
(首问负责), what it concluded, who answers for it, and whether the customer was satisfied."""
