"""bulk write path: orders without a foreign key to shops, an index of redacted customers

Orders are written in bulk and deleted with their shop by the app (services.shops.delete_shop),
like order lines; the partial index finds a shop's redacted customers (usually none) after
every stored batch without scanning its customers.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 16:30:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0008'
down_revision: Union[str, Sequence[str], None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('orders') as batch_op:
        batch_op.drop_constraint(op.f('fk_orders_shop_id_shops'), type_='foreignkey')
    with op.batch_alter_table('customers') as batch_op:
        batch_op.create_index('ix_customers_redacted', ['shop_id'], unique=False, postgresql_where=sa.text('redacted_at IS NOT NULL'), sqlite_where=sa.text('redacted_at IS NOT NULL'))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('customers') as batch_op:
        batch_op.drop_index('ix_customers_redacted', postgresql_where=sa.text('redacted_at IS NOT NULL'), sqlite_where=sa.text('redacted_at IS NOT NULL'))
    with op.batch_alter_table('orders') as batch_op:
        batch_op.create_foreign_key(
            op.f('fk_orders_shop_id_shops'), 'shops', ['shop_id'], ['id'], ondelete='CASCADE'
        )
