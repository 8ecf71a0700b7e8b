use order_service::{config::Config, startup::Application, telemetry};

#[tokio::main]
async fn main() {
    service_common::healthcheck::run_if_requested(|| {
        Config::from_env().ok().map(|c| c.listen_addr)
    });
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("order-service: {error}");
            std::process::exit(2);
        }
    };
    let telemetry = telemetry::init(config.log_format);
    if config.jwt_secret_generated {
        tracing::warn!(
            "JWT_SECRET is not set: signing tokens with a random secret made at start. Tokens \
             will not survive a restart nor work across instances; set JWT_SECRET for that."
        );
    }
    tracing::info!(?config, "starting order-service");
    let result = match Application::build(config).await {
        Ok(app) => app.run_until(service_common::shutdown::signal()).await,
        Err(error) => Err(error),
    };
    telemetry.shutdown();
    if let Err(error) = result {
        tracing::error!(error = format!("{error:#}"), "order-service stopped");
        std::process::exit(1);
    }
}
