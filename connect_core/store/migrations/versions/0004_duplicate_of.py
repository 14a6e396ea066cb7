"""the invoice a possible duplicate repeats, kept after it is approved

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('invoices') as batch:
        batch.add_column(sa.Column('duplicate_of', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('invoices') as batch:
        batch.drop_column('duplicate_of')
