use order_service::{config::Config, startup::Application};

#[tokio::main]
async fn main() {
    service_common::process::run("order-service", |config: Config| async move {
        Application::build(config)
            .await?
            .run_until(service_common::shutdown::signal())
            .await
    })
    .await;
}
