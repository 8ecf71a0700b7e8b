//! `kitchen`: the whole system in one command, and a terminal kitchen screen.
//!
//!   kitchen up [--demo]                     both services in this process; Ctrl-C stops them
//!   kitchen tail <slug> --email …           print a restaurant's kitchen feed as it happens
//!   kitchen order <slug>                    place an order from the restaurant's menu
//!   kitchen station add|list|route <slug> …  --email …   make stations, route categories
//!
//! The password of `--email` comes from `KITCHEN_PASSWORD` or, without it, a prompt that does
//! not echo: never from a flag, which any user of the machine could read in `ps`.

mod demo;
mod stations;
mod tail;

use std::net::SocketAddr;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use service_common::process::ServiceConfig as _;
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(name = "kitchen", about = "Run and watch the kitchen order system")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start order-service and kitchen-notifier together (DATABASE_URL, AMQP_URL and the other
    /// variables of the README apply; LISTEN_ADDR does not, use the flags).
    Up {
        /// Create a demo restaurant with a menu, an owner and a kitchen user, and print how to
        /// use them.
        #[arg(long)]
        demo: bool,
        #[arg(long, default_value = "127.0.0.1:8080")]
        order_service_addr: SocketAddr,
        #[arg(long, default_value = "127.0.0.1:8081")]
        notifier_addr: SocketAddr,
    },
    /// Print a restaurant's kitchen feed: the active orders, then every change as it happens.
    Tail {
        slug: String,
        #[command(flatten)]
        login: Login,
        #[arg(long, default_value = "ws://127.0.0.1:8081")]
        notifier: String,
    },
    /// Place an order (the first item of the menu, twice) as a customer would.
    Order {
        slug: String,
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        order_service: String,
    },
    /// Make a restaurant's stations and route its menu categories to them (as its owner or a
    /// manager; `list` as any staff).
    Station {
        #[command(subcommand)]
        action: StationAction,
    },
}

#[derive(Subcommand)]
enum StationAction {
    /// Make a station (1..=50 characters; unique whatever the case); prints its id.
    Add {
        slug: String,
        name: String,
        #[command(flatten)]
        login: Login,
    },
    /// List the restaurant's stations: id and name.
    List {
        slug: String,
        #[command(flatten)]
        login: Login,
    },
    /// Make a category's items (those without a station of their own) at a station, from the
    /// next order on; `none` routes it to no station. Category ids are in the menu
    /// (`GET /api/order/{slug}/menu/`).
    Route {
        slug: String,
        category_id: i64,
        /// A station id, or `none`.
        #[arg(value_parser = stations::parse_station)]
        station: stations::Target,
        #[command(flatten)]
        login: Login,
    },
}

/// The account a command acts as; its password is asked for apart (see [`password`]).
#[derive(Args)]
struct Login {
    #[arg(long)]
    email: String,
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    order_service: String,
}

/// The variable a script passes the password in.
const PASSWORD_VARIABLE: &str = "KITCHEN_PASSWORD";

/// The password for `email`: `KITCHEN_PASSWORD` if set (and not empty), else typed at a prompt
/// without echo.
fn password(email: &str) -> anyhow::Result<String> {
    choose_password(std::env::var(PASSWORD_VARIABLE).ok(), || {
        rpassword::prompt_password(format!("Password for {email}: "))
    })
}

fn choose_password(
    from_environment: Option<String>,
    prompt: impl FnOnce() -> std::io::Result<String>,
) -> anyhow::Result<String> {
    if let Some(password) = from_environment.filter(|p| !p.is_empty()) {
        return Ok(password);
    }
    let typed = prompt().with_context(|| {
        format!("cannot read a password: set {PASSWORD_VARIABLE}, or run in a terminal")
    })?;
    anyhow::ensure!(!typed.is_empty(), "no password given");
    Ok(typed)
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Up {
            demo,
            order_service_addr,
            notifier_addr,
        } => up(demo, order_service_addr, notifier_addr).await,
        Command::Tail {
            slug,
            login,
            notifier,
        } => match password(&login.email) {
            Ok(password) => {
                tail::run(
                    &slug,
                    &login.email,
                    &password,
                    &login.order_service,
                    &notifier,
                )
                .await
            }
            Err(error) => Err(error),
        },
        Command::Order {
            slug,
            order_service,
        } => demo::place_order(&order_service, &slug).await,
        Command::Station { action } => station(action).await,
    };
    if let Err(error) = result {
        eprintln!("kitchen: {error:#}");
        std::process::exit(1);
    }
}

async fn station(action: StationAction) -> anyhow::Result<()> {
    let (StationAction::Add { login, .. }
    | StationAction::List { login, .. }
    | StationAction::Route { login, .. }) = &action;
    let password = password(&login.email)?;
    let session = stations::Session::login(&login.order_service, &login.email, &password).await?;
    match &action {
        StationAction::Add { slug, name, .. } => stations::add(&session, slug, name).await,
        StationAction::List { slug, .. } => stations::list(&session, slug).await,
        StationAction::Route {
            slug,
            category_id,
            station,
            ..
        } => stations::route(&session, slug, *category_id, *station).await,
    }
}

async fn up(demo: bool, order_addr: SocketAddr, notifier_addr: SocketAddr) -> anyhow::Result<()> {
    let mut orders =
        order_service::config::Config::from_env().map_err(|e| anyhow::anyhow!("{e}"))?;
    orders.listen_addr = order_addr;
    let mut notifier =
        kitchen_notifier::config::Config::from_env().map_err(|e| anyhow::anyhow!("{e}"))?;
    notifier.listen_addr = notifier_addr;
    notifier.order_service_url = format!("http://{order_addr}");
    // The pages reach the notifier where this process listens, unless told otherwise.
    if std::env::var_os("NOTIFIER_PUBLIC_URL").is_none() {
        orders.notifier_public_url = format!("ws://{notifier_addr}");
    }
    let telemetry = service_common::telemetry::init(orders.log_format, "kitchen");
    if orders.jwt_secret_generated {
        tracing::warn!(
            "JWT_SECRET is not set: tokens are signed with a random secret and end with this process"
        );
    }

    let order_app = order_service::startup::Application::build(orders)
        .await
        .context("order-service did not start")?;
    let notifier_app = kitchen_notifier::startup::Application::build(notifier)
        .await
        .context("kitchen-notifier did not start")?;
    let stop = CancellationToken::new();
    let order_task = tokio::spawn(order_app.run_until(stop.clone().cancelled_owned()));
    let notifier_task = tokio::spawn(notifier_app.run_until(stop.clone().cancelled_owned()));
    let api = format!("http://{order_addr}");
    demo::wait_ready(&api).await?;
    demo::wait_ready(&format!("http://{notifier_addr}")).await?;
    println!("order-service    {api}");
    println!("kitchen-notifier ws://{notifier_addr}");
    if demo {
        demo::seed(&api, &notifier_addr.to_string()).await?;
    }
    println!("Ctrl-C stops both.");
    service_common::shutdown::signal().await;
    stop.cancel();
    let (orders_done, notifier_done) = tokio::join!(order_task, notifier_task);
    telemetry.shutdown();
    orders_done??;
    notifier_done??;
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::{Cli, Command, StationAction, choose_password, stations::Target};

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn station_commands_parse() {
        let login = ["--email", "o@x.test"];
        let route = |station: &str| {
            let args = ["kitchen", "station", "route", "demo", "3", station];
            match Cli::try_parse_from(args.into_iter().chain(login)).map(|cli| cli.command) {
                Ok(Command::Station {
                    action:
                        StationAction::Route {
                            slug,
                            category_id,
                            station,
                            login,
                        },
                }) => Ok((slug, category_id, station, login.order_service)),
                Ok(_) => panic!("not a route"),
                Err(error) => Err(error.kind()),
            }
        };
        assert_eq!(
            route("7"),
            Ok((
                "demo".to_owned(),
                3,
                Target(Some(7)),
                "http://127.0.0.1:8080".to_owned()
            ))
        );
        assert_eq!(route("none").unwrap().2, Target(None));
        assert_eq!(route("grill"), Err(clap::error::ErrorKind::ValueValidation));
        let add = ["kitchen", "station", "add", "demo", "grill"];
        assert!(matches!(
            Cli::try_parse_from(add.into_iter().chain(login)).map(|cli| cli.command),
            Ok(Command::Station { action: StationAction::Add { name, .. } }) if name == "grill"
        ));
        // The login flags are required.
        assert!(Cli::try_parse_from(add).is_err());
    }

    #[test]
    fn no_command_takes_a_password_on_its_command_line() {
        let with_flag = |args: &[&str]| {
            Cli::try_parse_from(args.iter().chain(&["--password", "secret"])).map(|_| ())
        };
        for args in [
            &["kitchen", "tail", "demo", "--email", "c@x.test"][..],
            &["kitchen", "station", "list", "demo", "--email", "o@x.test"],
        ] {
            assert!(Cli::try_parse_from(args).is_ok(), "{args:?}");
            assert_eq!(
                with_flag(args).map_err(|e| e.kind()),
                Err(clap::error::ErrorKind::UnknownArgument),
                "{args:?}"
            );
        }
    }

    #[test]
    fn the_password_comes_from_the_environment_else_the_prompt() {
        let never =
            || -> std::io::Result<String> { panic!("prompted although the variable is set") };
        assert_eq!(
            choose_password(Some("from-env".into()), never).unwrap(),
            "from-env"
        );
        let typed = || Ok("typed".to_owned());
        assert_eq!(choose_password(None, typed).unwrap(), "typed");
        assert_eq!(
            choose_password(Some(String::new()), typed).unwrap(),
            "typed",
            "an empty variable counts as unset"
        );
        let no_terminal = || Err(std::io::Error::new(std::io::ErrorKind::NotFound, "no tty"));
        let error = choose_password(None, no_terminal).unwrap_err();
        assert!(
            format!("{error:#}").contains("KITCHEN_PASSWORD"),
            "{error:#}"
        );
        assert!(choose_password(None, || Ok(String::new())).is_err());
    }
}
