"""layouts learned from corrections: where each came from and how often it reads

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'layouts',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('file', sa.String(200), nullable=False, unique=True),
        sa.Column('learned_from', sa.Integer(), nullable=True),
        sa.Column('learned_by', sa.Text(), nullable=True),
        sa.Column('learned_at', sa.DateTime(), nullable=True),
        sa.Column('reads', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('last_used_at', sa.DateTime(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table('layouts')
