"""The /api namespace that new clients are being moved to."""
