from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('openedx_microcred', '0007_learner_data_rights'),
    ]

    operations = [
        migrations.AddField(
            model_name='credential',
            name='learners_pending_since',
            field=models.DateTimeField(blank=True, db_index=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name='credential',
            name='learners_done_through',
            field=models.BigIntegerField(default=0, editable=False),
        ),
    ]
