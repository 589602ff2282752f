"""Domain rules, one module per use case; shared by pages, API, jobs and CLI."""
