"""a household's history of changes, append-only

Revision ID: 0011_household_history
Revises: 0010_ended_session
Create Date: 2026-12-03 08:00:00

A household's members, phone, village, officer and head change after it is listed; each change
is a household_change row, beside the household_status rows that record its category and
monitoring status from a date on. Both tables are only ever added to (triggers refuse UPDATE and
DELETE, as on the ledger): the history is what an inspector reads.
"""
from alembic import op
import sqlalchemy as sa

from shop.ledger import guard


# revision identifiers, used by Alembic.
revision = '0011_household_history'
down_revision = '0010_ended_session'
branch_labels = None
depends_on = None

FIELDS = ('head_name', 'members', 'phone', 'village', 'officer')


def upgrade():
    op.create_table('household_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('field', sa.Enum(*FIELDS, name='household_field', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('before', sa.String(length=200), nullable=False),
    sa.Column('after', sa.String(length=200), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('changed_by_id', sa.Integer(), nullable=True),
    sa.Column('changed_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['changed_by_id'], ['app_user.id'], name=op.f('fk_household_change_changed_by_id_app_user')),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_household_change_household_id_household')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_household_change'))
    )
    with op.batch_alter_table('household_change', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_household_change_household_id'), ['household_id'], unique=False)
    guard.install(op.get_bind(), 'household_change')
    guard.install(op.get_bind(), 'household_status')


def downgrade():
    guard.remove(op.get_bind(), 'household_status')
    guard.remove(op.get_bind(), 'household_change')
    with op.batch_alter_table('household_change', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_household_change_household_id'))
    op.drop_table('household_change')
