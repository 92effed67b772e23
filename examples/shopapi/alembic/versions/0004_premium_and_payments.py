"""premium membership and payment references

Revision ID: 0004
Revises: 0003
Create Date: 2024-05-27 11:05:12.588741
"""
from alembic import op
import sqlalchemy as sa

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("premium_until", sa.DateTime(timezone=True), nullable=True))
    op.add_column("orders", sa.Column("payment_ref", sa.String(length=64), nullable=True))
    op.create_unique_constraint(op.f("uq_orders_payment_ref"), "orders", ["payment_ref"])


def downgrade() -> None:
    op.drop_constraint(op.f("uq_orders_payment_ref"), "orders", type_="unique")
    op.drop_column("orders", "payment_ref")
    op.drop_column("users", "premium_until")
