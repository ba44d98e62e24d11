"""The audit log: coordinators and admins browse and export who changed what, when."""
