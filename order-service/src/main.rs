use order_service::{config::Config, startup::Application, telemetry};

#[tokio::main]
async fn main() {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("order-service: {error}");
            std::process::exit(2);
        }
    };
    telemetry::init(config.log_format);
    if config.uses_dev_jwt_secret() {
        tracing::warn!(
            "JWT_SECRET is not set: using the built-in development secret. \
             Anyone can forge tokens. Set JWT_SECRET before exposing this service."
        );
    }
    tracing::info!(?config, "starting order-service");
    let result = match Application::build(config).await {
        Ok(app) => app.run_until(service_common::shutdown::signal()).await,
        Err(error) => Err(error),
    };
    if let Err(error) = result {
        tracing::error!(error = format!("{error:#}"), "order-service stopped");
        std::process::exit(1);
    }
}
