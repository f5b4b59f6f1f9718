"""orders: no foreign key to shops (written in bulk; deleted with their shop by the app)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 16:30:00

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0008'
down_revision: Union[str, Sequence[str], None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('orders') as batch_op:
        batch_op.drop_constraint(op.f('fk_orders_shop_id_shops'), type_='foreignkey')


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('orders') as batch_op:
        batch_op.create_foreign_key(
            op.f('fk_orders_shop_id_shops'), 'shops', ['shop_id'], ['id'], ondelete='CASCADE'
        )
