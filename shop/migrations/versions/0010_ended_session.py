"""ended sessions looked up by nonce

Revision ID: 0010_ended_session
Revises: 0009_household_amounts_index
Create Date: 2026-11-27 01:40:00

Every staff request asks whether its session was signed out. The answer was a scan of the user's
sign-out events in the audit trail, which grows with every session; it is now one primary-key
lookup in ended_session. The sessions signed out before this migration are copied in from the
trail, so their replayed cookies stay refused. Rows are only ever added (triggers refuse UPDATE and
DELETE, as on the ledger and the trail).
"""
import json

from alembic import op
import sqlalchemy as sa

from shop.ledger import guard


# revision identifiers, used by Alembic.
revision = '0010_ended_session'
down_revision = '0009_household_amounts_index'
branch_labels = None
depends_on = None


def upgrade():
    ended = op.create_table('ended_session',
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_ended_session_user_id_app_user')),
    sa.PrimaryKeyConstraint('nonce', name=op.f('pk_ended_session'))
    )
    with op.batch_alter_table('ended_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ended_session_user_id'), ['user_id'], unique=False)

    events = sa.table('audit_event', sa.column('at', sa.DateTime()), sa.column('action'), sa.column('entity'),
                      sa.column('entity_id'), sa.column('after'))
    query = sa.select(events.c.at, events.c.entity_id, events.c.after).where(
        events.c.action == 'sign_out', events.c.entity == 'app_user')
    rows = {}
    for at, user_id, after in op.get_bind().execute(query):
        nonce = json.loads(after or '{}').get('session') if after else None
        if nonce and user_id and user_id.isdigit():
            rows[nonce] = {'nonce': nonce, 'user_id': int(user_id), 'ended_at': at}
    if rows:
        op.bulk_insert(ended, list(rows.values()))
    # Append-only like the trail it stands beside: an ended session is not revived by deleting its row.
    guard.install(op.get_bind(), 'ended_session')


def downgrade():
    guard.remove(op.get_bind(), 'ended_session')
    with op.batch_alter_table('ended_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ended_session_user_id'))
    op.drop_table('ended_session')
