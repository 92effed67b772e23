"""Data access: thin functions over the ORM, one concern per module."""
