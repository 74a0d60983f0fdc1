use crate::support::TestApp;
use axum::http::StatusCode;

#[tokio::test]
async fn healthz_answers_while_the_process_is_up() {
    let app = TestApp::new().await;
    let reply = app.get("/healthz", None).await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn readyz_follows_the_database() {
    let app = TestApp::new().await;
    assert_eq!(app.get("/readyz", None).await.status, StatusCode::OK);
    app.db.close_by_ref().await.expect("close");
    assert_eq!(app.get("/readyz", None).await.status, StatusCode::SERVICE_UNAVAILABLE);
}
