"""PostgreSQL only: the database itself refuses two active bookings of one set
whose blocked days (shoot days plus changeover) overlap. SQLite has no
exclusion constraints; there the booking service's IMMEDIATE transaction is
the guarantee."""

from django.db import migrations

CONSTRAINT = "booking_set_days_no_overlap"


def add_constraint(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    schema_editor.execute(
        f"""
        ALTER TABLE bookings_booking ADD CONSTRAINT {CONSTRAINT}
        EXCLUDE USING gist (
            studio_set_id WITH =,
            daterange(start_date, blocked_until, '[]') WITH &&
        ) WHERE (status IN ('requested', 'confirmed'))
        """
    )


def remove_constraint(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"ALTER TABLE bookings_booking DROP CONSTRAINT IF EXISTS {CONSTRAINT}")


class Migration(migrations.Migration):
    dependencies = [("bookings", "0002_bookings")]

    operations = [migrations.RunPython(add_constraint, remove_constraint)]
