//! Bringing the schema up to date: a database from a newer Latchkey is refused rather than touched.

use app::domain::database::{MigrateError, migrate};
use app::on_both_databases;
use sea_orm::{ConnectionTrait, DatabaseConnection};

on_both_databases!(a_database_migrated_by_a_newer_latchkey_is_refused_by_name);

async fn a_database_migrated_by_a_newer_latchkey_is_refused_by_name(db: DatabaseConnection) {
    migrate(&db).await.expect("migrating an up-to-date database again changes nothing");
    db.execute_unprepared(
        "INSERT INTO seaql_migrations (version, applied_at) VALUES ('m20990101_000001_from_the_future', 0)",
    )
    .await
    .expect("a newer version's migration");
    let err = migrate(&db).await.expect_err("refused");
    assert!(matches!(&err, MigrateError::NewerSchema(name) if name == "m20990101_000001_from_the_future"), "{err}");
    assert!(err.to_string().contains("newer than this Latchkey"), "{err}");
}
