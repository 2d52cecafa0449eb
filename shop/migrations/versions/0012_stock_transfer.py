"""stock transfers between counters

Revision ID: 0012_stock_transfer
Revises: 0011_household_history
Create Date: 2026-12-03 09:00:00

Part of a lot moves to another counter as a lot of its own, linked to the lot it came from
(lot.source_lot_id), with a transfer_out movement on the source and a transfer_in movement on
the new lot. The household was credited at intake, once; a transfer never credits again.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012_stock_transfer'
down_revision = '0011_household_history'
branch_labels = None
depends_on = None

OLD_KINDS = "'receipt', 'sale', 'restock', 'write_off', 'stocktake', 'return'"
NEW_KINDS = OLD_KINDS + ", 'transfer_out', 'transfer_in'"
OLD_DELTA = (
    "(kind IN ('receipt', 'restock') AND qty_delta > 0)"
    " OR (kind IN ('sale', 'write_off', 'return') AND qty_delta < 0)"
    " OR kind = 'stocktake'"
)
NEW_DELTA = (
    "(kind IN ('receipt', 'restock', 'transfer_in') AND qty_delta > 0)"
    " OR (kind IN ('sale', 'write_off', 'return', 'transfer_out') AND qty_delta < 0)"
    " OR kind = 'stocktake'"
)


def _kinds(kinds: str, delta: str) -> None:
    with op.batch_alter_table('stock_movement', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_stock_movement_movement_kind'), type_='check')
        batch_op.drop_constraint(op.f('ck_stock_movement_delta_matches_kind'), type_='check')
        batch_op.create_check_constraint('movement_kind', f"kind IN ({kinds})")
        batch_op.create_check_constraint('delta_matches_kind', delta)


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name == 'sqlite':
        # Not batch mode: copying the lot table means dropping it, which SQLite refuses while
        # movements, draws and ledger entries refer to its rows. A column-level REFERENCES may be added.
        op.execute(
            'ALTER TABLE lot ADD COLUMN source_lot_id INTEGER'
            ' CONSTRAINT fk_lot_source_lot_id_lot REFERENCES lot (id)'
        )
    else:
        op.add_column('lot', sa.Column('source_lot_id', sa.Integer(), nullable=True))
        op.create_foreign_key(op.f('fk_lot_source_lot_id_lot'), 'lot', 'lot', ['source_lot_id'], ['id'])
    op.create_index(op.f('ix_lot_source_lot_id'), 'lot', ['source_lot_id'], unique=False)
    _kinds(NEW_KINDS, NEW_DELTA)


def downgrade():
    # A transfer cannot be expressed before this revision, and undoing one would rewrite stock
    # history: refuse rather than guess, unless no transfer was ever made.
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT COUNT(*) FROM lot WHERE source_lot_id IS NOT NULL")).scalar():
        raise RuntimeError("Stock was transferred between counters; this revision cannot be undone without losing it.")
    _kinds(OLD_KINDS, OLD_DELTA)
    op.drop_index(op.f('ix_lot_source_lot_id'), table_name='lot')
    if bind.dialect.name == 'sqlite':
        # SQLite drops a column whose only constraint is its own REFERENCES in place.
        op.execute('ALTER TABLE lot DROP COLUMN source_lot_id')
    else:
        op.drop_constraint(op.f('fk_lot_source_lot_id_lot'), 'lot', type_='foreignkey')
        op.drop_column('lot', 'source_lot_id')
