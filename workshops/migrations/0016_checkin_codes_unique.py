import workshops.models
from django.db import migrations, models


class Migration(migrations.Migration):
    # Apart from the codes given in 0015: PostgreSQL alters no table with row changes pending.

    dependencies = [
        ("workshops", "0015_checkin_codes"),
    ]

    operations = [
        migrations.AlterField(
            model_name='enrolment',
            name='checkin_code',
            field=models.CharField(blank=True, default=workshops.models.new_checkin_code, editable=False, max_length=16, null=True, unique=True, verbose_name='check-in code'),
        ),
        migrations.AlterField(
            model_name='historicalenrolment',
            name='checkin_code',
            field=models.CharField(db_index=True, blank=True, default=workshops.models.new_checkin_code, editable=False, max_length=16, null=True, verbose_name='check-in code'),
        ),
    ]
