"""CaseLog: a surgical case log for spine clinics. This package is the whole product without Qt."""

__version__ = "0.1.0"
