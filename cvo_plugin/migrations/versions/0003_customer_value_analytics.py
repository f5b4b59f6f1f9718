"""customer value analytics: snapshots, customer scores, summaries, marketing spend

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-23 10:28:49.587711

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('customer_scores',
    sa.Column('snapshot_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('r', sa.SmallInteger(), nullable=False),
    sa.Column('f', sa.SmallInteger(), nullable=False),
    sa.Column('m', sa.SmallInteger(), nullable=False),
    sa.Column('segment', sa.String(length=32), nullable=False),
    sa.Column('recency_days', sa.Integer(), nullable=False),
    sa.Column('frequency', sa.Integer(), nullable=False),
    sa.Column('monetary', sa.Numeric(14, 2), nullable=False),
    sa.Column('first_order_on', sa.Date(), nullable=False),
    sa.Column('last_order_on', sa.Date(), nullable=False),
    sa.Column('historic_clv', sa.Numeric(14, 2), nullable=False),
    sa.Column('predicted_clv_12m', sa.Numeric(14, 2), nullable=True),
    sa.Column('p_alive', sa.Float(), nullable=True),
    sa.Column('expected_orders_90d', sa.Float(), nullable=True),
    sa.Column('expected_orders_365d', sa.Float(), nullable=True),
    sa.Column('channel', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('snapshot_id', 'customer_id', name=op.f('pk_customer_scores'))
    )
    with op.batch_alter_table('customer_scores', schema=None) as batch_op:
        batch_op.create_index('ix_customer_scores_segment', ['snapshot_id', 'segment', 'historic_clv', 'customer_id'], unique=False)
        batch_op.create_index('ix_customer_scores_shop', ['shop_id'], unique=False)

    op.create_table('analytics_snapshots',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('customers', sa.Integer(), nullable=False),
    sa.Column('orders', sa.Integer(), nullable=False),
    sa.Column('revenue', sa.Numeric(14, 2), nullable=False),
    sa.Column('previous_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('settings', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('clv_model', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_analytics_snapshots_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_analytics_snapshots')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('analytics_snapshots', schema=None) as batch_op:
        batch_op.create_index('ix_analytics_snapshots_shop_as_of', ['shop_id', 'as_of'], unique=False)
        batch_op.create_index('uq_analytics_snapshots_current', ['shop_id'], unique=True, postgresql_where=sa.text('is_current'), sqlite_where=sa.text('is_current'))

    op.create_table('marketing_spend',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('channel', sa.String(length=64), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('amount', sa.Numeric(14, 2), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_marketing_spend_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_marketing_spend')),
    sa.UniqueConstraint('shop_id', 'channel', 'month', name=op.f('uq_marketing_spend_shop_id_channel_month'))
    )
    op.create_table('analytics_summaries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('snapshot_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['snapshot_id'], ['analytics_snapshots.id'], name=op.f('fk_analytics_summaries_snapshot_id_analytics_snapshots'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_analytics_summaries')),
    sa.UniqueConstraint('snapshot_id', 'kind', name=op.f('uq_analytics_summaries_snapshot_id_kind'))
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('analytics_summaries')
    op.drop_table('marketing_spend')
    with op.batch_alter_table('analytics_snapshots', schema=None) as batch_op:
        batch_op.drop_index('uq_analytics_snapshots_current', postgresql_where=sa.text('is_current'), sqlite_where=sa.text('is_current'))
        batch_op.drop_index('ix_analytics_snapshots_shop_as_of')

    op.drop_table('analytics_snapshots')
    with op.batch_alter_table('customer_scores', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_scores_shop')
        batch_op.drop_index('ix_customer_scores_segment')

    op.drop_table('customer_scores')
