"""signed checkpoints of the ledger

Revision ID: 0020_checkpoints
Revises: 0019_worklog
Create Date: 2026-12-03 22:30:00

Signed Merkle tree heads of the household ledger, the tree's stored perfect subtrees, and the
public keys that sign them: all append-only.
"""
from alembic import op
import sqlalchemy as sa

from shop.ledger import guard

TABLES = ('ledger_checkpoint', 'ledger_tree_node', 'ledger_key')


# revision identifiers, used by Alembic.
revision = '0020_checkpoints'
down_revision = '0019_worklog'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('ledger_checkpoint',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('root', sa.String(length=64), nullable=False),
    sa.Column('signed_at', sa.DateTime(), nullable=False),
    sa.Column('key_id', sa.String(length=16), nullable=False),
    sa.Column('signature', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_checkpoint')),
    sa.UniqueConstraint('seq', name=op.f('uq_ledger_checkpoint_seq'))
    )
    op.create_table('ledger_tree_node',
    sa.Column('level', sa.SmallInteger(), autoincrement=False, nullable=False),
    sa.Column('node_index', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('level', 'node_index', name=op.f('pk_ledger_tree_node'))
    )
    op.create_table('ledger_key',
    sa.Column('key_id', sa.String(length=16), nullable=False),
    sa.Column('public_key', sa.String(length=64), nullable=False),
    sa.Column('first_used', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key_id', name=op.f('pk_ledger_key'))
    )
    for table in TABLES:
        guard.install(op.get_bind(), table)


def downgrade():
    for table in reversed(TABLES):
        guard.remove(op.get_bind(), table)
    op.drop_table('ledger_key')
    op.drop_table('ledger_tree_node')
    op.drop_table('ledger_checkpoint')
