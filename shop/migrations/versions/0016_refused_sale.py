"""queued sales the server refused, as the clerk settled them

Revision ID: 0016_refused_sale
Revises: 0015_price_history
Create Date: 2026-12-03 12:10:00

A sale the till queued offline and the server then refused for good used to vanish when the
clerk dismissed it. Its settlement (sold again, money returned, or written off) is now kept in
an append-only table, keyed by the refused sale's idempotency key.
"""
from alembic import op
import sqlalchemy as sa

from shop.ledger import guard


# revision identifiers, used by Alembic.
revision = '0016_refused_sale'
down_revision = '0015_price_history'
branch_labels = None
depends_on = None

METHODS = "'cash', 'wechat_qr', 'alipay_qr', 'card', 'stripe'"
OUTCOMES = "'resold', 'returned', 'written_off'"


def upgrade():
    op.create_table('refused_sale',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=64), nullable=False),
    sa.Column('request_digest', sa.String(length=64), nullable=False),
    sa.Column('counter_id', sa.Integer(), nullable=False),
    sa.Column('lines', sa.Text(), nullable=False),
    sa.Column('payment_method', sa.Enum('cash', 'wechat_qr', 'alipay_qr', 'card', 'stripe', name='payment_method', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('taken_fen', sa.BigInteger(), nullable=False),
    sa.Column('tendered_fen', sa.BigInteger(), nullable=True),
    sa.Column('refused_error', sa.String(length=300), nullable=False),
    sa.Column('rung_up_at', sa.DateTime(), nullable=False),
    sa.Column('rung_up_on', sa.Date(), nullable=False),
    sa.Column('outcome', sa.Enum('resold', 'returned', 'written_off', name='refused_outcome', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('resold_key', sa.String(length=64), nullable=True),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('settled_by_id', sa.Integer(), nullable=False),
    sa.Column('settled_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('taken_fen >= 0', name=op.f('ck_refused_sale_taken_not_negative')),
    sa.CheckConstraint('tendered_fen IS NULL OR tendered_fen >= 0', name=op.f('ck_refused_sale_tendered_not_negative')),
    sa.CheckConstraint("(outcome = 'resold') = (resold_key IS NOT NULL)", name=op.f('ck_refused_sale_resold_names_new_sale')),
    sa.ForeignKeyConstraint(['counter_id'], ['counter.id'], name=op.f('fk_refused_sale_counter_id_counter')),
    sa.ForeignKeyConstraint(['settled_by_id'], ['app_user.id'], name=op.f('fk_refused_sale_settled_by_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refused_sale')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_refused_sale_idempotency_key'))
    )
    op.create_index(op.f('ix_refused_sale_counter_id'), 'refused_sale', ['counter_id'], unique=False)
    op.create_index(op.f('ix_refused_sale_rung_up_on'), 'refused_sale', ['rung_up_on'], unique=False)
    guard.install(op.get_bind(), 'refused_sale')


def downgrade():
    guard.remove(op.get_bind(), 'refused_sale')
    op.drop_index(op.f('ix_refused_sale_rung_up_on'), table_name='refused_sale')
    op.drop_index(op.f('ix_refused_sale_counter_id'), table_name='refused_sale')
    op.drop_table('refused_sale')
