"""widget: storefront events, segment tag state and write log

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 13:28:29.359642

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0007'
down_revision: Union[str, Sequence[str], None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('segment_tag_states',
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tag', sa.String(length=64), nullable=False),
    sa.Column('written_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_segment_tag_states_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('shop_id', 'customer_id', name=op.f('pk_segment_tag_states'))
    )
    op.create_table('segment_tag_writes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_platform_id', sa.String(length=64), nullable=False),
    sa.Column('added', sa.String(length=64), nullable=True),
    sa.Column('removed', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('written_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_segment_tag_writes_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_segment_tag_writes'))
    )
    with op.batch_alter_table('segment_tag_writes', schema=None) as batch_op:
        batch_op.create_index('ix_segment_tag_writes_shop_written', ['shop_id', 'written_at'], unique=False)

    op.create_table('widget_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('placement', sa.String(length=16), nullable=False),
    sa.Column('arm', sa.String(length=8), nullable=False),
    sa.Column('anon_id', sa.String(length=64), nullable=False),
    sa.Column('source_product_id', sa.String(length=64), nullable=True),
    sa.Column('product_id', sa.String(length=64), nullable=False),
    sa.Column('dedup_key', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_widget_events_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_widget_events')),
    sa.UniqueConstraint('shop_id', 'dedup_key', name=op.f('uq_widget_events_shop_id_dedup_key'))
    )
    with op.batch_alter_table('widget_events', schema=None) as batch_op:
        batch_op.create_index('ix_widget_events_shop_day', ['shop_id', 'day', 'kind'], unique=False)



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('widget_events', schema=None) as batch_op:
        batch_op.drop_index('ix_widget_events_shop_day')

    op.drop_table('widget_events')
    with op.batch_alter_table('segment_tag_writes', schema=None) as batch_op:
        batch_op.drop_index('ix_segment_tag_writes_shop_written')

    op.drop_table('segment_tag_writes')
    op.drop_table('segment_tag_states')
