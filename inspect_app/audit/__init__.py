"""The audit log: who did what to which object, when, before and after."""
