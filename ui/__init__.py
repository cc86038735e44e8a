"""The CaseLog desktop app (Qt only): windows, dialogs, table models and workers over the caselog services."""
