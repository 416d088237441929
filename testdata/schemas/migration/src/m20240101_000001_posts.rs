use sea_orm_migration::prelude::*;

pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(BlogPost::Table)
                    .col(ColumnDef::new(BlogPost::Id).integer().primary_key())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(BlogPost::Table)
                    .add_column(ColumnDef::new(BlogPost::PublishedAt).timestamp())
                    .to_owned(),
            )
            .await
    }

    // Rolling back is not a change the schema ends with.
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(BlogPost::Table).to_owned()).await
    }
}
