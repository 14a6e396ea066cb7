"""sending to Pagero Online

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 12:34:45.026715
"""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pdf_name', sa.String(length=100), nullable=False, server_default='document.pdf'))
        batch_op.add_column(sa.Column('environment', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('first_attempt_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('outcome_unknown', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('send_generation', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('last_error', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('remote_file_id', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('remote_filepart_id', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('delivery_status', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('sent_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('checked_at', sa.DateTime(), nullable=True))
        batch_op.create_index('ix_invoices_due', ['state', 'next_attempt_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_index('ix_invoices_due')
        batch_op.drop_column('checked_at')
        batch_op.drop_column('sent_at')
        batch_op.drop_column('delivery_status')
        batch_op.drop_column('remote_filepart_id')
        batch_op.drop_column('remote_file_id')
        batch_op.drop_column('last_error')
        batch_op.drop_column('send_generation')
        batch_op.drop_column('outcome_unknown')
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('first_attempt_at')
        batch_op.drop_column('attempts')
        batch_op.drop_column('environment')
        batch_op.drop_column('pdf_name')

