use kitchen_notifier::{config::Config, startup::Application};

#[tokio::main]
async fn main() {
    service_common::process::run("kitchen-notifier", |config: Config| async move {
        Application::build(config)
            .await?
            .run_until(service_common::shutdown::signal())
            .await
    })
    .await;
}
