"""a counter's opening hours and phone for buyers

Revision ID: 0017_counter_contact
Revises: 0016_refused_sale
Create Date: 2026-12-03 12:10:00

Buyers see when a counter is open and whom to call, on the shop's pages, at checkout and on a
pickup order's page. Both are optional short texts; a counter recorded before this revision has
neither, and nothing is shown for it.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017_counter_contact'
down_revision = '0016_refused_sale'
branch_labels = None
depends_on = None


def upgrade():
    # In place, not batch mode: counter is referred to by lots, sales and orders, so SQLite cannot rebuild it.
    op.add_column('counter', sa.Column('opening_hours', sa.String(length=100), nullable=False, server_default=''))
    op.add_column('counter', sa.Column('phone', sa.String(length=20), nullable=False, server_default=''))


def downgrade():
    # SQLite (3.35+) drops a column without constraints in place, as PostgreSQL does.
    op.execute('ALTER TABLE counter DROP COLUMN phone')
    op.execute('ALTER TABLE counter DROP COLUMN opening_hours')
