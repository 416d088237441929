from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    operations = [
        migrations.CreateModel(
            name="Product",
            fields=[("id", models.AutoField(primary_key=True)), ("title", models.CharField(max_length=200))],
        ),
        migrations.AddField(model_name="product", name="price", field=models.IntegerField(default=0)),
        migrations.RenameField(model_name="product", old_name="title", new_name="name"),
    ]
