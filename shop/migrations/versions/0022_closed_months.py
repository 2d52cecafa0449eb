"""months closed once a month: the ledger's closings and their household-month sums

Revision ID: 0022_closed_months
Revises: 0021_household_pages
Create Date: 2026-12-04 03:00:00

A closing sums every household's month up to a month from the ledger (`flask ledger close-month`),
so the year report reads twelve rows a household instead of every entry. Both tables are
append-only; `flask ledger verify` recomputes each closed household-month from the ledger.
"""
from alembic import op
import sqlalchemy as sa

from shop.ledger import guard

TABLES = ('ledger_closing', 'closed_household_month')


# revision identifiers, used by Alembic.
revision = '0022_closed_months'
down_revision = '0021_household_pages'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('ledger_closing',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('through_seq', sa.BigInteger(), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=False),
    sa.Column('closed_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['closed_by_id'], ['app_user.id'], name=op.f('fk_ledger_closing_closed_by_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_closing'))
    )
    op.create_table('closed_household_month',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('closing_id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('credited_fen', sa.BigInteger(), nullable=False),
    sa.Column('reversed_fen', sa.BigInteger(), nullable=False),
    sa.Column('adjusted_fen', sa.BigInteger(), nullable=False),
    sa.Column('paid_out_fen', sa.BigInteger(), nullable=False),
    sa.Column('income_fen', sa.BigInteger(), nullable=False),
    sa.Column('entries', sa.Integer(), nullable=False),
    sa.Column('income_entries', sa.Integer(), nullable=False),
    sa.Column('last_seq', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['closing_id'], ['ledger_closing.id'], name=op.f('fk_closed_household_month_closing_id_ledger_closing')),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_closed_household_month_household_id_household')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_closed_household_month'))
    )
    with op.batch_alter_table('closed_household_month', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_closed_household_month_closing_id'), ['closing_id'], unique=False)
        batch_op.create_index('ix_closed_household_month_month_household', ['month', 'household_id'], unique=False)
    for table in TABLES:
        guard.install(op.get_bind(), table)


def downgrade():
    for table in reversed(TABLES):
        guard.remove(op.get_bind(), table)
    with op.batch_alter_table('closed_household_month', schema=None) as batch_op:
        batch_op.drop_index('ix_closed_household_month_month_household')
        batch_op.drop_index(batch_op.f('ix_closed_household_month_closing_id'))
    op.drop_table('closed_household_month')
    op.drop_table('ledger_closing')
