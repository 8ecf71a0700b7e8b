//! Nothing here: the end-to-end tests live in `tests/`. They start both services in-process
//! against the local PostgreSQL and RabbitMQ and drive them over HTTP, WebSocket and AMQP.
