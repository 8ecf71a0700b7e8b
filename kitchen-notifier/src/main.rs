use kitchen_notifier::{config::Config, startup::Application};

#[tokio::main]
async fn main() {
    service_common::healthcheck::run_if_requested(|| {
        Config::from_env().ok().map(|c| c.listen_addr)
    });
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("kitchen-notifier: {error}");
            std::process::exit(2);
        }
    };
    let telemetry = service_common::telemetry::init(config.log_format, "kitchen-notifier");
    tracing::info!(?config, "starting kitchen-notifier");
    let result = match Application::build(config).await {
        Ok(app) => app.run_until(service_common::shutdown::signal()).await,
        Err(error) => Err(error),
    };
    telemetry.shutdown();
    if let Err(error) = result {
        tracing::error!(error = format!("{error:#}"), "kitchen-notifier stopped");
        std::process::exit(1);
    }
}
