import secrets

from django.db import migrations, models

import bookings.models


def fill_tokens(apps, schema_editor):
    Crew = apps.get_model("bookings", "Crew")
    for crew in Crew.objects.filter(calendar_token__isnull=True):
        crew.calendar_token = secrets.token_urlsafe(24)
        crew.save(update_fields=["calendar_token"])


class Migration(migrations.Migration):
    dependencies = [("bookings", "0003_booking_no_overlap_postgresql")]

    operations = [
        migrations.AddField(
            model_name="crew",
            name="calendar_token",
            field=models.CharField(editable=False, max_length=64, null=True, verbose_name="calendar feed token"),
        ),
        migrations.RunPython(fill_tokens, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="crew",
            name="calendar_token",
            field=models.CharField(
                default=bookings.models.new_calendar_token,
                editable=False,
                max_length=64,
                unique=True,
                verbose_name="calendar feed token",
            ),
        ),
    ]
