"""the officers' work ledger

Revision ID: 0019_worklog
Revises: 0018_heartbeat
Create Date: 2026-12-03 18:23:41

Plans and their measures, measures ticked off, visits, declared income and risk-elimination
proposals with their steps: append-only, like the ledger. Staff accounts gain the inspector
role, which may be limited to a town as a supervisor may.
"""
from alembic import op
import sqlalchemy as sa

from shop.ledger import guard

TABLES = ('measure', 'measure_done', 'visit', 'declared_income', 'risk_proposal', 'risk_step')
ROLES_BEFORE = "'admin', 'clerk', 'officer', 'supervisor'"


# revision identifiers, used by Alembic.
revision = '0019_worklog'
down_revision = '0018_heartbeat'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('measure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('industry', 'employment', 'safety_net', 'education', 'medical', 'housing', 'other', name='measure_kind', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('sells_through_counter', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('corrects_id', sa.Integer(), nullable=True),
    sa.Column('correction_reason', sa.String(length=500), server_default='', nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("corrects_id IS NULL OR correction_reason <> ''", name=op.f('ck_measure_correction_has_reason')),
    sa.CheckConstraint('due_on >= starts_on', name=op.f('ck_measure_due_after_start')),
    sa.ForeignKeyConstraint(['corrects_id'], ['measure.id'], name=op.f('fk_measure_corrects_id_measure')),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_measure_household_id_household')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['app_user.id'], name=op.f('fk_measure_recorded_by_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_measure')),
    sa.UniqueConstraint('corrects_id', name=op.f('uq_measure_corrects_id'))
    )
    with op.batch_alter_table('measure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_measure_household_id'), ['household_id'], unique=False)

    op.create_table('risk_proposal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('note', sa.String(length=1000), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.Column('proposed_by_id', sa.Integer(), nullable=False),
    sa.Column('proposed_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_risk_proposal_household_id_household')),
    sa.ForeignKeyConstraint(['proposed_by_id'], ['app_user.id'], name=op.f('fk_risk_proposal_proposed_by_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_risk_proposal'))
    )
    with op.batch_alter_table('risk_proposal', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_risk_proposal_household_id'), ['household_id'], unique=False)

    op.create_table('visit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('visited_on', sa.Date(), nullable=False),
    sa.Column('kind', sa.Enum('home', 'phone', name='visit_kind', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('findings', sa.String(length=2000), nullable=False),
    sa.Column('risk_found', sa.Boolean(), nullable=False),
    sa.Column('late', sa.Boolean(), nullable=False),
    sa.Column('client_key', sa.String(length=64), nullable=True),
    sa.Column('device_recorded_at', sa.DateTime(), nullable=True),
    sa.Column('corrects_id', sa.Integer(), nullable=True),
    sa.Column('correction_reason', sa.String(length=500), server_default='', nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("corrects_id IS NULL OR correction_reason <> ''", name=op.f('ck_visit_correction_has_reason')),
    sa.ForeignKeyConstraint(['corrects_id'], ['visit.id'], name=op.f('fk_visit_corrects_id_visit')),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_visit_household_id_household')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['app_user.id'], name=op.f('fk_visit_recorded_by_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visit')),
    sa.UniqueConstraint('client_key', name=op.f('uq_visit_client_key')),
    sa.UniqueConstraint('corrects_id', name=op.f('uq_visit_corrects_id'))
    )
    with op.batch_alter_table('visit', schema=None) as batch_op:
        batch_op.create_index('ix_visit_household_visited_on', ['household_id', 'visited_on'], unique=False)

    op.create_table('declared_income',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=True),
    sa.Column('source', sa.Enum('wages', 'business', 'transfer', 'property', 'medical_cost', 'education_cost', 'other_cost', name='income_source', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('how_checked', sa.String(length=200), nullable=False),
    sa.Column('corrects_id', sa.Integer(), nullable=True),
    sa.Column('correction_reason', sa.String(length=500), server_default='', nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("corrects_id IS NULL OR correction_reason <> ''", name=op.f('ck_declared_income_correction_has_reason')),
    sa.CheckConstraint('amount_fen >= 0', name=op.f('ck_declared_income_amount_not_negative')),
    sa.CheckConstraint('period_end >= period_start', name=op.f('ck_declared_income_period_in_order')),
    sa.ForeignKeyConstraint(['corrects_id'], ['declared_income.id'], name=op.f('fk_declared_income_corrects_id_declared_income')),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_declared_income_household_id_household')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['app_user.id'], name=op.f('fk_declared_income_recorded_by_id_app_user')),
    sa.ForeignKeyConstraint(['visit_id'], ['visit.id'], name=op.f('fk_declared_income_visit_id_visit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_declared_income')),
    sa.UniqueConstraint('corrects_id', name=op.f('uq_declared_income_corrects_id'))
    )
    with op.batch_alter_table('declared_income', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_declared_income_household_id'), ['household_id'], unique=False)

    op.create_table('measure_done',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('measure_id', sa.Integer(), nullable=False),
    sa.Column('done_on', sa.Date(), nullable=False),
    sa.Column('evidence', sa.String(length=1000), nullable=False),
    sa.Column('late', sa.Boolean(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['measure_id'], ['measure.id'], name=op.f('fk_measure_done_measure_id_measure')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['app_user.id'], name=op.f('fk_measure_done_recorded_by_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_measure_done')),
    sa.UniqueConstraint('measure_id', name=op.f('uq_measure_done_measure_id'))
    )
    op.create_table('risk_step',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.Enum('town_agreed', 'approved', 'returned', name='proposal_step', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('status_id', sa.Integer(), nullable=True),
    sa.Column('by_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("(step = 'approved') = (status_id IS NOT NULL)", name=op.f('ck_risk_step_approval_records_status')),
    sa.CheckConstraint("step <> 'returned' OR reason <> ''", name=op.f('ck_risk_step_return_has_reason')),
    sa.ForeignKeyConstraint(['by_id'], ['app_user.id'], name=op.f('fk_risk_step_by_id_app_user')),
    sa.ForeignKeyConstraint(['proposal_id'], ['risk_proposal.id'], name=op.f('fk_risk_step_proposal_id_risk_proposal')),
    sa.ForeignKeyConstraint(['status_id'], ['household_status.id'], name=op.f('fk_risk_step_status_id_household_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_risk_step')),
    sa.UniqueConstraint('status_id', name=op.f('uq_risk_step_status_id'))
    )
    with op.batch_alter_table('risk_step', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_risk_step_proposal_id'), ['proposal_id'], unique=False)
    for table in TABLES:
        guard.install(op.get_bind(), table)
    _roles("'admin', 'clerk', 'officer', 'supervisor', 'inspector'", "role IN ('supervisor', 'inspector')")


def _roles(roles: str, town_rule: str) -> None:
    """Rewrite app_user's CHECKs on role and town: the roles allowed, and who may be limited to a town."""
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_app_user_role'), type_='check')
        batch_op.drop_constraint(op.f('ck_app_user_town_only_for_supervisor'), type_='check')
        batch_op.create_check_constraint(op.f('ck_app_user_role'), f'role IN ({roles})')
        batch_op.create_check_constraint(
            op.f('ck_app_user_town_only_for_supervisor'), f'town_id IS NULL OR {town_rule}'
        )


def downgrade():
    op.execute("DELETE FROM app_user WHERE role = 'inspector'")
    _roles(ROLES_BEFORE, "role = 'supervisor'")
    for table in reversed(TABLES):
        guard.remove(op.get_bind(), table)
    with op.batch_alter_table('risk_step', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_risk_step_proposal_id'))

    op.drop_table('risk_step')
    op.drop_table('measure_done')
    with op.batch_alter_table('declared_income', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_declared_income_household_id'))

    op.drop_table('declared_income')
    with op.batch_alter_table('visit', schema=None) as batch_op:
        batch_op.drop_index('ix_visit_household_visited_on')

    op.drop_table('visit')
    with op.batch_alter_table('risk_proposal', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_risk_proposal_household_id'))

    op.drop_table('risk_proposal')
    with op.batch_alter_table('measure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_measure_household_id'))

    op.drop_table('measure')
