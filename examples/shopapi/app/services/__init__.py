"""Business logic that spans several crud modules or talks to other services."""
