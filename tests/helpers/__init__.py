"""Small programs the reliability tests run as separate processes (`python -m tests.helpers.NAME`)."""
