"""The studio's staff roles as groups with exact permissions (see hengdian/roles.py).

Idempotent: running it again leaves each group with exactly its permissions.
"""

from django.db import migrations


def create_roles(apps, schema_editor):
    from hengdian.roles import sync_roles

    sync_roles(apps, using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("bookings", "0007_notification_kinds_set_location_reminder_indexes"),
        ("workshops", "0003_enrolment_passport_permission"),
    ]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
