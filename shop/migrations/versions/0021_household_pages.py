"""a household's own page: its link, the page's view counts and payout disputes

Revision ID: 0021_household_pages
Revises: 0019_worklog
Create Date: 2026-12-03 22:40:00

The link's token is stored twice: its SHA-256 digest, which visits are looked up by, and the
token sealed with the personal-data keys, so that slips and cards can print it again while a
copied database does not give it away. At most one live link per household (a partial unique
index). Views are counted per link and day, with nothing about who viewed.
"""
from alembic import op
import sqlalchemy as sa

from shop.sealing import Sealed


# revision identifiers, used by Alembic.
revision = '0021_household_pages'
down_revision = '0020_checkpoints'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('household_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('token_digest', sa.String(length=64), nullable=False),
    sa.Column('token', Sealed(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('(revoked_at IS NULL) = (revoked_by_id IS NULL)', name=op.f('ck_household_link_revoked_with_whom')),
    sa.ForeignKeyConstraint(['created_by_id'], ['app_user.id'], name=op.f('fk_household_link_created_by_id_app_user')),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_household_link_household_id_household')),
    sa.ForeignKeyConstraint(['revoked_by_id'], ['app_user.id'], name=op.f('fk_household_link_revoked_by_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_household_link')),
    sa.UniqueConstraint('token_digest', name=op.f('uq_household_link_token_digest'))
    )
    with op.batch_alter_table('household_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_household_link_household_id'), ['household_id'], unique=False)
        batch_op.create_index('uq_household_link_live', ['household_id'], unique=True,
                              sqlite_where=sa.text('revoked_at IS NULL'), postgresql_where=sa.text('revoked_at IS NULL'))

    op.create_table('household_page_views',
    sa.Column('link_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('views', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['link_id'], ['household_link.id'], name=op.f('fk_household_page_views_link_id_household_link')),
    sa.PrimaryKeyConstraint('link_id', 'day', name=op.f('pk_household_page_views'))
    )
    op.create_table('payout_dispute',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('payout_id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('link_id', sa.Integer(), nullable=False),
    sa.Column('raised_at', sa.DateTime(), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('answered_at', sa.DateTime(), nullable=True),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.Column('answer', sa.String(length=500), nullable=False),
    sa.CheckConstraint("(answered_at IS NULL) = (answered_by_id IS NULL) AND (answered_at IS NULL OR answer <> '')", name=op.f('ck_payout_dispute_answer_complete')),
    sa.ForeignKeyConstraint(['answered_by_id'], ['app_user.id'], name=op.f('fk_payout_dispute_answered_by_id_app_user')),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_payout_dispute_household_id_household')),
    sa.ForeignKeyConstraint(['link_id'], ['household_link.id'], name=op.f('fk_payout_dispute_link_id_household_link')),
    sa.ForeignKeyConstraint(['payout_id'], ['payout.id'], name=op.f('fk_payout_dispute_payout_id_payout')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payout_dispute')),
    sa.UniqueConstraint('payout_id', name=op.f('uq_payout_dispute_payout_id'))
    )
    with op.batch_alter_table('payout_dispute', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payout_dispute_household_id'), ['household_id'], unique=False)


def downgrade():
    with op.batch_alter_table('payout_dispute', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payout_dispute_household_id'))
    op.drop_table('payout_dispute')
    op.drop_table('household_page_views')
    with op.batch_alter_table('household_link', schema=None) as batch_op:
        batch_op.drop_index('uq_household_link_live')
        batch_op.drop_index(batch_op.f('ix_household_link_household_id'))
    op.drop_table('household_link')
