"""cross-sell results and merchant controls

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 10:19:50.994974

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('crosssell_bundles',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_crosssell_bundles_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crosssell_bundles')),
    sa.UniqueConstraint('shop_id', 'name', name=op.f('uq_crosssell_bundles_shop_id_name'))
    )
    op.create_table('crosssell_hides',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('product_platform_id', sa.String(length=64), nullable=False),
    sa.Column('hidden_platform_id', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_crosssell_hides_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crosssell_hides')),
    sa.UniqueConstraint('shop_id', 'product_platform_id', 'hidden_platform_id', name=op.f('uq_crosssell_hides_shop_id_product_platform_id_hidden_platform_id'))
    )
    op.create_table('crosssell_pins',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('product_platform_id', sa.String(length=64), nullable=False),
    sa.Column('pinned_platform_id', sa.String(length=64), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_crosssell_pins_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crosssell_pins')),
    sa.UniqueConstraint('shop_id', 'product_platform_id', 'pinned_platform_id', name=op.f('uq_crosssell_pins_shop_id_product_platform_id_pinned_platform_id'))
    )
    op.create_table('crosssell_sets',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('data_until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('parameters', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('orders', sa.Integer(), nullable=False),
    sa.Column('customers', sa.Integer(), nullable=False),
    sa.Column('products', sa.Integer(), nullable=False),
    sa.Column('rules', sa.Integer(), nullable=False),
    sa.Column('seconds', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_crosssell_sets_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crosssell_sets'))
    )
    with op.batch_alter_table('crosssell_sets', schema=None) as batch_op:
        batch_op.create_index('uq_crosssell_sets_current', ['shop_id'], unique=True, postgresql_where=sa.text('is_current'), sqlite_where=sa.text('is_current'))

    op.create_table('crosssell_bundle_items',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('bundle_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('product_platform_id', sa.String(length=64), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['bundle_id'], ['crosssell_bundles.id'], name=op.f('fk_crosssell_bundle_items_bundle_id_crosssell_bundles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_crosssell_bundle_items_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crosssell_bundle_items')),
    sa.UniqueConstraint('bundle_id', 'product_platform_id', name=op.f('uq_crosssell_bundle_items_bundle_id_product_platform_id'))
    )
    with op.batch_alter_table('crosssell_bundle_items', schema=None) as batch_op:
        batch_op.create_index('ix_crosssell_bundle_items_shop_product', ['shop_id', 'product_platform_id'], unique=False)

    op.create_table('crosssell_product_stats',
    sa.Column('set_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('product_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('orders', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['set_id'], ['crosssell_sets.id'], name=op.f('fk_crosssell_product_stats_set_id_crosssell_sets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('set_id', 'product_id', name=op.f('pk_crosssell_product_stats'))
    )
    op.create_table('crosssell_recommendations',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('set_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('product_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('recommended_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('orders_together', sa.Integer(), nullable=False),
    sa.Column('support', sa.Float(), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.Column('lift', sa.Float(), nullable=False),
    sa.Column('conviction', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['set_id'], ['crosssell_sets.id'], name=op.f('fk_crosssell_recommendations_set_id_crosssell_sets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crosssell_recommendations'))
    )
    with op.batch_alter_table('crosssell_recommendations', schema=None) as batch_op:
        batch_op.create_index('ix_crosssell_recommendations_lookup', ['set_id', 'product_id', 'kind', 'rank'], unique=False)



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('crosssell_recommendations', schema=None) as batch_op:
        batch_op.drop_index('ix_crosssell_recommendations_lookup')

    op.drop_table('crosssell_recommendations')
    op.drop_table('crosssell_product_stats')
    with op.batch_alter_table('crosssell_bundle_items', schema=None) as batch_op:
        batch_op.drop_index('ix_crosssell_bundle_items_shop_product')

    op.drop_table('crosssell_bundle_items')
    with op.batch_alter_table('crosssell_sets', schema=None) as batch_op:
        batch_op.drop_index('uq_crosssell_sets_current', postgresql_where=sa.text('is_current'), sqlite_where=sa.text('is_current'))

    op.drop_table('crosssell_sets')
    op.drop_table('crosssell_pins')
    op.drop_table('crosssell_hides')
    op.drop_table('crosssell_bundles')
