from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('studies', '0003_study_members'),
    ]

    operations = [
        migrations.AddField(
            model_name='modelspec',
            name='api_key_env',
            field=models.CharField(blank=True, help_text="The environment variable holding this server's API key (e.g. OPENAI_API_KEY); empty: no key", max_length=100),
        ),
    ]
