"""Shop API: catalogue, orders and premium memberships for the bookshop."""

__version__ = "1.4.0"
