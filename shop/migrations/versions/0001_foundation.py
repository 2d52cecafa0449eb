"""foundation: counters, staff, households, products, lots

Revision ID: 0001_foundation
Revises: 
Create Date: 2026-11-26 18:24:45.085747

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0001_foundation'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('counter',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_counter')),
    sa.UniqueConstraint('code', name=op.f('uq_counter_code'))
    )
    op.create_table('product',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sku', sa.String(length=40), nullable=False),
    sa.Column('name_zh', sa.String(length=100), nullable=False),
    sa.Column('name_en', sa.String(length=100), nullable=False),
    sa.Column('category', sa.Enum('seafood', 'condiment', 'eggs', 'other', name='product_category', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('unit', sa.Enum('g', 'piece', name='unit', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('price_fen', sa.BigInteger(), nullable=False),
    sa.Column('price_per', sa.Integer(), nullable=False),
    sa.Column('description_zh', sa.Text(), nullable=False),
    sa.Column('description_en', sa.Text(), nullable=False),
    sa.Column('image', sa.String(length=200), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('cert_no', sa.String(length=60), nullable=True),
    sa.Column('cert_issuer', sa.String(length=100), nullable=True),
    sa.Column('cert_expires_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('price_fen >= 0', name=op.f('ck_product_price_not_negative')),
    sa.CheckConstraint('price_per > 0', name=op.f('ck_product_price_per_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product')),
    sa.UniqueConstraint('sku', name=op.f('uq_product_sku'))
    )
    op.create_table('town',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name_zh', sa.String(length=40), nullable=False),
    sa.Column('name_en', sa.String(length=80), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_town')),
    sa.UniqueConstraint('name_zh', name=op.f('uq_town_name_zh'))
    )
    op.create_table('app_user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=40), nullable=False),
    sa.Column('password_hash', sa.String(length=256), nullable=False),
    sa.Column('role', sa.Enum('admin', 'clerk', 'officer', 'supervisor', name='role', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('display_name', sa.String(length=60), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('counter_id', sa.Integer(), nullable=True),
    sa.Column('town_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("town_id IS NULL OR role = 'supervisor'", name=op.f('ck_app_user_town_only_for_supervisor')),
    sa.ForeignKeyConstraint(['counter_id'], ['counter.id'], name=op.f('fk_app_user_counter_id_counter')),
    sa.ForeignKeyConstraint(['town_id'], ['town.id'], name=op.f('fk_app_user_town_id_town')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_app_user')),
    sa.UniqueConstraint('username', name=op.f('uq_app_user_username'))
    )
    op.create_table('village',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('town_id', sa.Integer(), nullable=False),
    sa.Column('name_zh', sa.String(length=60), nullable=False),
    sa.Column('name_en', sa.String(length=80), nullable=False),
    sa.ForeignKeyConstraint(['town_id'], ['town.id'], name=op.f('fk_village_town_id_town')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_village')),
    sa.UniqueConstraint('town_id', 'name_zh', name=op.f('uq_village_town_id_name_zh'))
    )
    op.create_table('household',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('head_name', sa.String(length=50), nullable=False),
    sa.Column('members', sa.Integer(), nullable=False),
    sa.Column('village_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.Enum('tuopin', 'jiance', 'yiban', name='category', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('monitor_subtype', sa.Enum('unstable', 'marginal', 'sudden', name='subtype', native_enum=False, create_constraint=True, length=20), nullable=True),
    sa.Column('monitoring_status', sa.Enum('identified', 'risk_eliminated', 'relapsed', name='monitoring_status', native_enum=False, create_constraint=True, length=20), nullable=True),
    sa.Column('officer_id', sa.Integer(), nullable=True),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("category <> 'jiance' OR monitoring_status IS NOT NULL", name=op.f('ck_household_jiance_has_status')),
    sa.CheckConstraint("category = 'jiance' OR (monitor_subtype IS NULL AND monitoring_status IS NULL)", name=op.f('ck_household_monitoring_only_for_jiance')),
    sa.CheckConstraint('members > 0', name=op.f('ck_household_members_positive')),
    sa.ForeignKeyConstraint(['officer_id'], ['app_user.id'], name=op.f('fk_household_officer_id_app_user')),
    sa.ForeignKeyConstraint(['village_id'], ['village.id'], name=op.f('fk_household_village_id_village')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_household')),
    sa.UniqueConstraint('code', name=op.f('uq_household_code'))
    )
    with op.batch_alter_table('household', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_household_officer_id'), ['officer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_household_village_id'), ['village_id'], unique=False)

    op.create_table('household_status',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.Enum('tuopin', 'jiance', 'yiban', name='category', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('monitor_subtype', sa.Enum('unstable', 'marginal', 'sudden', name='subtype', native_enum=False, create_constraint=True, length=20), nullable=True),
    sa.Column('monitoring_status', sa.Enum('identified', 'risk_eliminated', 'relapsed', name='monitoring_status', native_enum=False, create_constraint=True, length=20), nullable=True),
    sa.Column('effective_on', sa.Date(), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_household_status_household_id_household')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['app_user.id'], name=op.f('fk_household_status_recorded_by_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_household_status'))
    )
    with op.batch_alter_table('household_status', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_household_status_household_id'), ['household_id'], unique=False)

    op.create_table('lot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('counter_id', sa.Integer(), nullable=False),
    sa.Column('qty_received', sa.Integer(), nullable=False),
    sa.Column('qty_on_hand', sa.Integer(), nullable=False),
    sa.Column('best_before', sa.Date(), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('received_by_id', sa.Integer(), nullable=False),
    sa.Column('mode', sa.Enum('consignment', 'purchase', name='mode', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('share_bp', sa.Integer(), nullable=True),
    sa.Column('purchase_price_fen', sa.BigInteger(), nullable=True),
    sa.CheckConstraint("(mode = 'consignment' AND share_bp IS NOT NULL AND share_bp BETWEEN 0 AND 10000 AND purchase_price_fen IS NULL) OR (mode = 'purchase' AND purchase_price_fen IS NOT NULL AND purchase_price_fen >= 0 AND share_bp IS NULL)", name=op.f('ck_lot_settlement_terms')),
    sa.CheckConstraint('qty_on_hand <= qty_received', name=op.f('ck_lot_on_hand_within_received')),
    sa.CheckConstraint('qty_on_hand >= 0', name=op.f('ck_lot_on_hand_not_negative')),
    sa.CheckConstraint('qty_received > 0', name=op.f('ck_lot_received_positive')),
    sa.ForeignKeyConstraint(['counter_id'], ['counter.id'], name=op.f('fk_lot_counter_id_counter')),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_lot_household_id_household')),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_lot_product_id_product')),
    sa.ForeignKeyConstraint(['received_by_id'], ['app_user.id'], name=op.f('fk_lot_received_by_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lot'))
    )
    with op.batch_alter_table('lot', schema=None) as batch_op:
        batch_op.create_index('ix_lot_allocation', ['product_id', 'counter_id', 'best_before', 'received_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_lot_household_id'), ['household_id'], unique=False)



def downgrade():
    with op.batch_alter_table('lot', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lot_household_id'))
        batch_op.drop_index('ix_lot_allocation')

    op.drop_table('lot')
    with op.batch_alter_table('household_status', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_household_status_household_id'))

    op.drop_table('household_status')
    with op.batch_alter_table('household', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_household_village_id'))
        batch_op.drop_index(batch_op.f('ix_household_officer_id'))

    op.drop_table('household')
    op.drop_table('village')
    op.drop_table('app_user')
    op.drop_table('town')
    op.drop_table('product')
    op.drop_table('counter')
