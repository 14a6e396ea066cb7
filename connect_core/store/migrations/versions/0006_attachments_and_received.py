"""attachments sent with invoices, the channel Pagero Online distributes by, received invoices' fields, inbound role

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('distribution', sa.String(20), nullable=True))
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('document_type', sa.String(40), nullable=False, server_default='Other'))
        batch_op.add_column(sa.Column('note', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('added_by', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('sent_generation', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('remote_id', sa.String(100), nullable=True))
        batch_op.add_column(sa.Column('outcome_unknown', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('inbound_documents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('document_type', sa.String(20), nullable=True))
        batch_op.add_column(sa.Column('due_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('net', sa.Numeric(18, 2), nullable=True))
        batch_op.add_column(sa.Column('tax', sa.Numeric(18, 2), nullable=True))
        batch_op.add_column(sa.Column('sender_ids', sa.Text(), nullable=False, server_default='{}'))
        batch_op.add_column(sa.Column('buyer', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('received_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('attachments', sa.Text(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('problem', sa.Text(), nullable=False, server_default=''))
        batch_op.create_index('ix_inbound_state', ['state', 'id'], unique=False)
        batch_op.create_index('ix_inbound_number', ['document_number'], unique=False)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('inbound', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('inbound')
    with op.batch_alter_table('inbound_documents', schema=None) as batch_op:
        batch_op.drop_index('ix_inbound_number')
        batch_op.drop_index('ix_inbound_state')
        for name in ('problem', 'attachments', 'received_at', 'buyer', 'sender_ids', 'tax', 'net', 'due_date',
                     'document_type'):
            batch_op.drop_column(name)
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        for name in ('outcome_unknown', 'remote_id', 'sent_generation', 'added_by', 'note', 'document_type'):
            batch_op.drop_column(name)
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_column('distribution')
